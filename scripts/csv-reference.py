#!/usr/bin/env python3
"""An independent RFC 4180 reference for the CSV reader's comparison test (Tests/BatchFilesTests/
CSVReferenceComparisonTests.swift): parses each file named on the command line with Python's csv module in strict
mode and prints one JSON line per file: {"records": [...], "error": bool}, the records read before the first error
(blank lines left out, as the Swift reader leaves them out)."""
import csv
import json
import sys

for path in sys.argv[1:]:
    records = []
    error = False
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            for record in reader:
                if record:
                    records.append(record)
        except csv.Error:
            error = True
    print(json.dumps({"records": records, "error": error}))
