"""The module template's precompiled function (templates/module_py.py, from
compiler/codegen/template_build.py) renders what jinja2 renders: it is the
translation of the current template, it gives jinja2's text for every example
query, and for any template of the constructs it knows (hypothesis); what it
does not know is refused; an edited template is rendered by jinja2."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.codegen import module, template_build
from compiler.driver import compile_source, read_source
from compiler.errors import SqlcError

ROOT = Path(__file__).resolve().parent.parent


def _jinja(text: str) -> jinja2.Template:
    return jinja2.Environment(undefined=jinja2.StrictUndefined,
                              **module.JINJA_OPTIONS).from_string(text)


def _function(text: str):
    namespace: dict = {}
    exec(compile(template_build.translate(text), "<translated>", "exec"), namespace)  # noqa: S102
    return namespace["render"]


def test_the_checked_in_function_is_the_current_templates_translation():
    assert template_build.main(["--check"]) == 0, "run python -m compiler.codegen.template_build"
    assert module._precompiled_is_current()


def test_every_example_renders_as_jinja2_renders_it(monkeypatch):
    rendered = []
    render = module._render

    def both(**fields):
        precompiled = render(**fields)
        assert precompiled == module._template().render(**fields)
        rendered.append(precompiled)
        return precompiled

    monkeypatch.setenv("SQLC_NO_CACHE", "1")
    monkeypatch.setattr(module, "_render", both)
    monkeypatch.setattr(module, "format_python", lambda text: text)
    for sql in sorted((ROOT / "examples").glob("*.sql")):
        if sql.name != "catalog.sql":
            try:
                compile_source(read_source(sql), [str(ROOT / "examples" / "catalog.sql")])
            except SqlcError:
                pass  # valid SQL that does not run yet
    assert len(rendered) > 20


def test_an_edited_template_is_rendered_by_jinja2(monkeypatch):
    query = read_source(ROOT / "examples" / "fr_dql_003_tumble.sql")
    catalogs = [str(ROOT / "examples" / "catalog.sql")]
    monkeypatch.setenv("SQLC_NO_CACHE", "1")
    expected = compile_source(query, catalogs).module
    import templates.module_py

    monkeypatch.setattr(templates.module_py, "TEMPLATE_SHA256", "0" * 64)
    monkeypatch.setattr(templates.module_py, "render", None)  # would fail if called
    module._precompiled_is_current.cache_clear()
    try:
        assert not module._precompiled_is_current()
        assert compile_source(query, catalogs).module == expected
    finally:
        module._precompiled_is_current.cache_clear()


@pytest.mark.parametrize("construct", [
    "{{ x | upper }}", "{% set y = 1 %}", "{% for a in x %}{{ loop.index }}{% endfor %}",
    "{{ x.attribute }}", "{% for a in x %}{% else %}none{% endfor %}", "{{ x + 1 }}",
    "{% for x in y %}{% endfor %}{{ x }}",
])
def test_what_the_translation_does_not_know_is_refused(construct):
    with pytest.raises(template_build.UnsupportedTemplate):
        template_build.translate(construct)


# templates of the known constructs: text (with the newlines and indents that
# trim_blocks / lstrip_blocks act on), variables, joins, if/elif/else, for
_TEXT = st.text(alphabet=" \n{}#'\"\\ab", max_size=8).filter(
    lambda t: "{{" not in t and "{%" not in t and "{#" not in t and not t.endswith("{"))
_VARS = ["a", "b", "c"]


def _template(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        _TEXT,
        st.sampled_from([f"{{{{ {v} }}}}" for v in _VARS]),
        st.sampled_from([f"{{{{ {v} | join(', ') }}}}" for v in _VARS]),
        st.just("{{ '{' }}"),
    )
    if depth == 0:
        return st.lists(leaf, max_size=4).map("".join)
    inner = _template(depth - 1)
    block = st.one_of(
        st.tuples(st.sampled_from(_VARS), _TEXT, inner, _TEXT).map(
            lambda t: f"{{% if {t[0]} %}}{t[1]}{t[2]}{{% else %}}{t[3]}{{% endif %}}"),
        st.tuples(st.sampled_from(_VARS), st.sampled_from(_VARS), _TEXT, inner).map(
            lambda t: f"{{% if {t[0]} %}}{t[2]}{{% elif {t[1]} %}}{t[3]}{{% endif %}}\n"),
        st.tuples(st.sampled_from(_VARS), _TEXT, st.sampled_from(["  ", "", "\n"])).map(
            lambda t: f"{t[2]}{{% for item in {t[0]} %}}\n{t[1]}{{{{ item }}}}\n{{% endfor %}}\n"),
    )
    return st.lists(st.one_of(leaf, block), max_size=5).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=_template(2),
       values=st.fixed_dictionaries({v: st.lists(st.sampled_from(["x", "", "y\n", 3]), max_size=3)
                                     for v in _VARS}))
def test_any_template_of_the_known_constructs_renders_as_jinja2(text, values):
    translated = _function(text)
    import inspect

    used = {name: values[name] for name in inspect.signature(translated).parameters}
    assert translated(**used) == _jinja(text).render(**values)
