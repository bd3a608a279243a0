"""Input and output: sources (files, Kafka) that read micro-batches from a
position they can report and seek to, decoders (records -> columns), sinks
(files, Kafka), and the lookup tables of lookup joins (``tables``).
"""
