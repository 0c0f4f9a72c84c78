"""`heritage produce lido` end to end on the live broker: each rejected record is one line
naming its file and line, records the record contract flags are listed but still published,
the summary closes the output, and --strict turns any rejection into exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heritage.cli import main
from heritage.lakehouse_layout import RECORDS_TOPIC, LakehouseLayout

pytestmark = pytest.mark.integration

# A museum's export as its collection system writes it: one record the cleanse stage will
# accept as it is (type from the work type, rights on the images, the holding museum), one
# whose type neither its kind (a jug) nor its image link tells (published, flagged), and one
# with no title (rejected).
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<lido:lidoWrap xmlns:lido="http://www.lido-schema.org">\n'
RECORD = """<lido:lido>
  <lido:lidoRecID lido:type="local">{id}</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="de">
    <lido:objectClassificationWrap><lido:objectWorkTypeWrap><lido:objectWorkType>
      <lido:term>{work_type}</lido:term>
    </lido:objectWorkType></lido:objectWorkTypeWrap></lido:objectClassificationWrap>
    <lido:objectIdentificationWrap>
      <lido:titleWrap><lido:titleSet><lido:appellationValue>{title}</lido:appellationValue>
      </lido:titleSet></lido:titleWrap>
      <lido:repositoryWrap><lido:repositorySet><lido:repositoryName><lido:legalBodyName>
        <lido:appellationValue>Landesmuseum Hannover</lido:appellationValue>
      </lido:legalBodyName></lido:repositoryName></lido:repositorySet></lido:repositoryWrap>
    </lido:objectIdentificationWrap>
  </lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="de">
    <lido:recordWrap>
      <lido:recordID lido:type="local">{id}</lido:recordID>
      <lido:recordType><lido:term>Einzelobjekt</lido:term></lido:recordType>
      <lido:recordSource><lido:legalBodyName><lido:appellationValue>Landesmuseum Hannover
      </lido:appellationValue></lido:legalBodyName></lido:recordSource>
      <lido:recordRights><lido:rightsType><lido:conceptID lido:type="URI"
        >http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
      </lido:recordRights>
    </lido:recordWrap>
    <lido:resourceWrap><lido:resourceSet>
      <lido:resourceRepresentation lido:type="image_master">
        <lido:linkResource>https://images.example.org/{id}{extension}</lido:linkResource>
      </lido:resourceRepresentation>
      <lido:rightsResource><lido:rightsType><lido:term
        >http://www.europeana.eu/rights/rr-f/</lido:term></lido:rightsType></lido:rightsResource>
    </lido:resourceSet></lido:resourceWrap>
  </lido:administrativeMetadata>
</lido:lido>
"""


def export(folder: Path) -> Path:
    records = [
        RECORD.format(
            id="LMH-1954-12", work_type="Gemälde", title="Bildnis einer Dame", extension=".jpg"
        ),
        RECORD.format(
            id="LMH-1954-13", work_type="Krug", title="Krug mit Zinndeckel", extension=""
        ),
        RECORD.format(id="LMH-1954-14", work_type="Gemälde", title=" ", extension=".jpg"),
    ]
    folder.mkdir()
    path = folder / "export.xml"
    path.write_text(HEAD + "".join(records) + "</lido:lidoWrap>\n", encoding="utf-8")
    return path


def test_produce_lido_prints_each_rejection_and_strict_fails(
    layout: LakehouseLayout,
    read_topic: Callable[[str], list[tuple[str, dict[str, Any]]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = layout.records_topic.removeprefix(f"{RECORDS_TOPIC}.")
    path = export(tmp_path / "drops")
    monkeypatch.chdir(tmp_path)

    assert main(["produce", "lido", str(path), "--namespace", namespace, "--strict"]) == 1
    lines = capsys.readouterr().out.splitlines()
    rejected = [line for line in lines if line.startswith("drops/export.xml:")]
    assert len(rejected) == 1 and "lido:LMH-1954-14" in rejected[0], lines
    assert "title" in rejected[0]
    flagged = [line for line in lines if "(published, invalid)" in line]
    assert len(flagged) == 1 and flagged[0].startswith("lido:LMH-1954-13: type"), lines
    assert lines[-1].startswith("lido: 3 read, 2 published, 1 rejected, 0 unchanged"), lines

    published = dict(read_topic(layout.records_topic))
    assert sorted(published) == ["lido:LMH-1954-12", "lido:LMH-1954-13"]
    good = published["lido:LMH-1954-12"]["record"]
    assert good["type"] == "IMAGE"
    assert good["rights"] == ["http://www.europeana.eu/rights/rr-f/"]
    (letter,) = read_topic(layout.dead_letter_topic)
    assert letter[0] == "lido:LMH-1954-14"

    # A rerun sends nothing new, and without --strict the same rejection is no failure.
    assert main(["produce", "lido", str(path), "--namespace", namespace]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("lido: 3 read, 0 published, 1 rejected, 2 unchanged")
    )
    assert len(read_topic(layout.records_topic)) == 2
