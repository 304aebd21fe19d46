import pytest

from wharf.cli.gotemplate import Template, TemplateError, render

CONTAINER = {
    "Id": "abc", "Names": ["a", "b"], "State": {"Status": "running", "Pid": 12, "Paused": False},
    "Labels": {"k": "v", "a": "b"}, "Mounts": [{"Source": "/x"}, {"Source": "/y"}],
    "Config": {"Env": ["A=1"], "Cmd": ["sleep", "1"]}, "Count": 3, "Ratio": 1.5, "Nothing": None,
}


@pytest.mark.parametrize(("source", "text"), [
    ("plain", "plain"),
    ("{{.Id}}", "abc"),
    ("{{.State.Status}}", "running"),
    ("{{.State.Pid}} {{.Count}} {{.Ratio}}", "12 3 1.5"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Nothing}}", "<nil>"),
    ("{{.Labels}}", "map[a:b k:v]"),
    ("{{.Names}}", "[a b]"),
    ("{{json .Config}}", '{"Env":["A=1"],"Cmd":["sleep","1"]}'),
    ("{{json .Id}}", '"abc"'),
    ('{{index .Labels "k"}}|{{index .Labels "nope"}}', "v|"),
    ("{{index .Names 1}}", "b"),
    ('{{join .Names ","}}', "a,b"),
    ("{{upper .State.Status}} {{lower \"ABC\"}} {{title \"hello\"}}", "RUNNING abc Hello"),
    ("{{.State.Status | upper}}", "RUNNING"),
    ("{{range .Mounts}}{{.Source}};{{end}}", "/x;/y;"),
    ("{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}} {{end}}", "0=/x 1=/y "),
    ("{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}", "a:b,k:v,"),
    ("{{range .Config.Nope}}x{{else}}empty{{end}}", "empty"),
    ('{{if eq .State.Status "running"}}up{{else}}down{{end}}', "up"),
    ('{{if eq .State.Status "exited"}}E{{else if .State.Paused}}P{{else}}R{{end}}', "R"),
    ("{{if and .Id .State.Paused}}x{{else}}y{{end}}", "y"),
    ("{{if or .State.Paused .Id}}x{{end}}", "x"),
    ("{{if not .State.Paused}}running{{end}}", "running"),
    ("{{with .State}}{{.Status}}{{end}}", "running"),
    ("{{with .Missing}}x{{else}}none{{end}}", "none"),
    ("{{len .Names}} {{len .Labels}}", "2 2"),
    ('{{printf "%s-%d-%5.1f" .Id .Count .Ratio}}', "abc-3-  1.5"),
    ('{{println "x" 1}}', "x 1\n"),
    ("{{print 1 2}} {{print \"a\" \"b\"}}", "1 2 ab"),
    ("{{$x := .Id}}{{$x}}{{$x}}", "abcabc"),
    ("{{$.Id}} {{range .Mounts}}{{$.Id}}{{end}}", "abc abcabc"),
    ("a  {{- .Id -}}  b", "aabcb"),
    ("{{/* a comment */}}x", "x"),
    ('{{split "a:b" ":"}}', "[a b]"),
    ('{{pad .Id 1 2}}|{{truncate .Id 2}}', " abc  |ab"),
    ("{{(index .Names 0) | upper}}", "A"),
    ("{{gt .Count 2}} {{lt .Count 2}} {{ne .Id \"x\"}}", "true false true"),
    ("{{`raw {{ string`}}", "raw {{ string"),
])
def test_renders_like_go(source: str, text: str) -> None:
    assert render(source, CONTAINER) == text


class Context:
    ID = "0123456789ab"

    def Label(self, name: str) -> str:  # noqa: N802
        return {"team": "blue"}.get(name, "")


def test_object_fields_and_methods() -> None:
    assert render('{{.ID}} {{.Label "team"}}', Context()) == "0123456789ab blue"
    with pytest.raises(TemplateError, match="can't evaluate field Nope"):
        render("{{.Nope}}", Context())


@pytest.mark.parametrize("source", ["{{.Id", "{{if .Id}}x", "{{end}}", "{{nosuchfunc .Id}}", "{{else}}", '{{"x}}'])
def test_errors_are_template_errors(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source, CONTAINER)


def test_strict_keys_fail_on_struct_fields_but_not_map_entries() -> None:
    strict = Template("{{.Nope}}", strict_keys=True)
    with pytest.raises(TemplateError, match='map has no entry for key "Nope"'):
        strict.render(CONTAINER)
    assert Template("{{.Labels.nope}}", strict_keys=True).render(CONTAINER) == "<no value>"
