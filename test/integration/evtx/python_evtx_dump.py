"""Dumps what python-evtx reads from an .evtx file, one JSON object per record,
for test/integration/evtx-python.test.ts to compare with Cairn's parser.

Reads every chunk with valid magic (include_inactive), as Cairn does for dirty
files whose header undercounts its chunks."""
import json
import sys
import xml.etree.ElementTree as ET

import Evtx.Evtx as evtx

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


def text(el):
    return "".join(el.itertext()) if el is not None else None


def main(path):
    with evtx.Evtx(path) as log:
        for chunk in log.get_file_header().chunks(include_inactive=True):
            if not chunk.check_magic():
                continue
            for record in chunk.records():
                try:
                    root = ET.fromstring(record.xml())
                except Exception as err:  # python-evtx could not render it
                    print(json.dumps({"record_id": record.record_num(), "error": str(err)}))
                    continue
                system = root.find(NS + "System")
                data = {}
                event_data = root.find(NS + "EventData")
                if event_data is not None:
                    for d in event_data.findall(NS + "Data"):
                        if "Name" in d.attrib:
                            data[d.attrib["Name"]] = text(d)
                print(json.dumps({
                    "record_id": record.record_num(),
                    "event_id": text(system.find(NS + "EventID")),
                    "provider": system.find(NS + "Provider").attrib.get("Name"),
                    "level": text(system.find(NS + "Level")),
                    "channel": text(system.find(NS + "Channel")),
                    "computer": text(system.find(NS + "Computer")),
                    "time": system.find(NS + "TimeCreated").attrib.get("SystemTime"),
                    "data": data,
                }))


if __name__ == "__main__":
    main(sys.argv[1])
