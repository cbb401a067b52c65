"""The templates compile with the filters they use, and the filters that name releases write their keys."""

from __future__ import annotations

import pytest

from bridge.domain.fixes import FixStatus
from bridge.service.read.releases import FixView
from bridge.service.web.pages.rendering import (
    TEMPLATES,
    html_environment,
    markdown_environment,
    release_label,
    release_subject,
)


@pytest.mark.parametrize("name", sorted(path.name for path in TEMPLATES.iterdir() if path.is_file()))
def test_every_template_compiles_with_the_filters_it_uses(name: str) -> None:
    environment = markdown_environment() if name.endswith(".md") else html_environment()
    environment.get_template(name)  # an unknown filter fails here, at compile time


def test_a_release_key_reads_as_words_and_names_its_findings() -> None:
    assert release_label("dip-platform:1.0.1.1") == "dip-platform 1.0.1.1"
    assert release_subject("dip-platform", "1.0.1.1") == "release:dip-platform:1.0.1.1"
    with pytest.raises(ValueError, match="not a release key"):
        release_label("dip-platform 1.0.1.1")


def test_the_carry_forward_and_the_findings_link_show_release_keys_as_words() -> None:
    environment = html_environment()
    carried = environment.from_string(
        "{{ v.emergency | release_label }} into {{ v.regular | release_label }}"
    )
    assert carried.render(v={"emergency": "helix:1.0.1.1", "regular": "helix:1.0.2.0"}) == (
        "helix 1.0.1.1 into helix 1.0.2.0"
    )
    link = environment.from_string("/findings?subject={{ c | release_subject(v) | urlencode }}")
    assert (
        link.render(c="dip platform", v="1.0.2.0") == "/findings?subject=release%3Adip%20platform%3A1.0.2.0"
    )


def test_a_list_explains_every_fix_but_the_moved_ones() -> None:
    def fix(defect: int, status: FixStatus) -> FixView:
        return FixView(id=defect, title=None, state=None, status=status.value, why=f"why {defect}")

    fixes = [fix(n, status) for n, status in enumerate([*FixStatus, FixStatus.MOVED, FixStatus.LEFT])]
    explained = html_environment().from_string("{% for f in fixes | not_moved %}{{ f.id }} {% endfor %}")
    expected = [f.id for f in fixes if f.status != "moved"]
    assert explained.render(fixes=fixes).split() == [str(n) for n in expected]
    assert len(expected) == len(fixes) - 2
