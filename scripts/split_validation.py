#!/usr/bin/env python3
"""Splits a labelled CSV into fit.csv (80%) and val.csv (20%) by an MD5 hash of the text,
for comparing halo-triage's model with scikit-learn's on the same tickets (docs/learning.md).

    python3 scripts/split_validation.py train.csv --text Document
"""
import argparse
import csv
import hashlib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--text", required=True)
    args = parser.parse_args()
    with open(args.data, newline="") as source:
        reader = csv.DictReader(source)
        with open("fit.csv", "w", newline="") as fit, open("val.csv", "w", newline="") as val:
            writers = [csv.DictWriter(f, reader.fieldnames) for f in (fit, val)]
            for writer in writers:
                writer.writeheader()
            counts = [0, 0]
            for row in reader:
                held = int(hashlib.md5(row[args.text].encode()).hexdigest()[:8], 16) % 5 == 0
                writers[held].writerow(row)
                counts[held] += 1
    print(f"fit.csv: {counts[0]} rows, val.csv: {counts[1]} rows")


if __name__ == "__main__":
    main()
