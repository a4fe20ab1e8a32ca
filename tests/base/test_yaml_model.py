"""bitflight.base.yaml_model: the one-line messages every schema loader (config, shapes, devices) shares."""
import pytest
from pydantic import BaseModel, ConfigDict

from bitflight.base import yaml_model


class _Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int
    y: int


class _MyError(ValueError):
    pass


def test_resolve_name_path_and_unknown(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\n")
    assert yaml_model.available(tmp_path) == ["a"]
    assert yaml_model.resolve("a", tmp_path, "thing") == tmp_path / "a.yaml"
    assert yaml_model.resolve(tmp_path / "a.yaml", tmp_path, "thing") == tmp_path / "a.yaml"
    with pytest.raises(_MyError, match=r"^unknown thing 'b' \(built-in: a; or give a .yaml"):
        yaml_model.resolve("b", tmp_path, "thing", _MyError)
    with pytest.raises(_MyError, match=r"c.yaml: thing file not found$"):
        yaml_model.resolve(tmp_path / "c.yaml", tmp_path, "thing", _MyError)


@pytest.mark.parametrize("text,message", [
    ("x: [1,\n", r"bad.yaml: line 2: not valid YAML$"),
    ("- 1\n- 2\n", r"bad.yaml: \(top level\): expected a mapping of keys$"),
    ("x: 1\nz: 2\n", r"bad.yaml: y: Field required \(and 1 more\)$"),
    ("x: 1\ny: one\n", r"bad.yaml: y: Input should be a valid integer"),
])
def test_load_errors_are_one_line_naming_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(_MyError, match=message) as info:
        yaml_model.load(path, _Point, _MyError)
    assert "\n" not in str(info.value)


def test_load_valid_and_unreadable(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("x: 1\ny: 2\n")
    assert yaml_model.load(path, _Point) == _Point(x=1, y=2)
    with pytest.raises(ValueError, match=r"missing.yaml: cannot read \("):
        yaml_model.read_mapping(tmp_path / "missing.yaml")
