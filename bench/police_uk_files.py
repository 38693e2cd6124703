"""police.uk-shaped street-level crime files for the import benchmark and tests.

data.police.uk publishes one CSV per force per month, in a folder per month
(`2019-01/2019-01-metropolitan-street.csv`), with the columns below. Like the real files these
have: coordinates snapped to a limited set of anonymised map points (so many rows share one),
anti-social behaviour without a Crime ID (some rows repeated identically), a Crime ID repeated
with a different outcome, and "No Location" rows with empty coordinates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
          "LSOA name", "Crime type", "Last outcome category", "Context"]
CRIME_TYPES = (("Anti-social behaviour", 0.30), ("Violence and sexual offences", 0.28), ("Vehicle crime", 0.08),
               ("Burglary", 0.06), ("Other theft", 0.07), ("Criminal damage and arson", 0.06), ("Drugs", 0.03),
               ("Public order", 0.05), ("Shoplifting", 0.04), ("Theft from the person", 0.02),
               ("Other crime", 0.01))
OUTCOMES = ("Status update unavailable", "Investigation complete; no suspect identified", "Under investigation",
            "Awaiting court outcome", "Unable to prosecute suspect", "Local resolution")
FORCES = ("metropolitan", "city-of-london", "surrey", "kent", "essex", "hertfordshire", "thames-valley", "sussex")
STREETS = ("High Street", "Station Road", "Church Lane", "Park Road", "Mill Lane", "Kings Road", "Queens Road",
           "Victoria Street", "Green Lane", "London Road", "Manor Road", "Shopping Area", "Supermarket", "Parking Area")


@dataclass(frozen=True)
class Written:
    """What was written: the files, and the rows a correct import must end with."""

    files: tuple[Path, ...]
    rows: int          # data rows in all files
    no_location: int   # rows with empty coordinates (bad rows)
    repeated: int      # rows repeating a Crime ID seen earlier in the same file (the later row wins)

    @property
    def incidents(self) -> int:
        """Incidents an import must store."""
        return self.rows - self.no_location - self.repeated


def month_rows(month: str, force: str, n: int, rng: np.random.Generator,
               center: tuple[float, float] = (51.5072, -0.1276)) -> tuple[list[list[str]], int, int]:
    """`n` rows of one force's month: (rows, no-location rows, rows repeating a Crime ID)."""
    force_name = force.replace("-", " ").title() + " Police"
    points = max(50, n // 4)  # anonymised map points shared by several crimes
    plat = center[0] + rng.normal(0, 0.08, points)
    plon = center[1] + rng.normal(0, 0.12, points)
    street = rng.integers(0, len(STREETS), points)
    lsoa = rng.integers(0, max(10, points // 5), points)
    names = [t for t, _ in CRIME_TYPES]
    share = np.array([s for _, s in CRIME_TYPES])
    kinds = rng.choice(len(names), n, p=share / share.sum())
    where = rng.integers(0, points, n)
    outcome = rng.integers(0, len(OUTCOMES), n)
    ids = rng.integers(0, 2**63, (n, 4), dtype=np.int64)
    rows, no_location, repeated = [], 0, 0
    for i in range(n):
        crime = names[kinds[i]]
        p = where[i]
        asb = crime == "Anti-social behaviour"
        cid = "" if asb else "".join(f"{int(x):016x}" for x in ids[i])
        code = f"E0{force[:2].upper()}{lsoa[p]:05d}"
        row = [cid, month, force_name, force_name, f"{plon[p]:.6f}", f"{plat[p]:.6f}", f"On or near {STREETS[street[p]]}",
               code, f"{force.title()} {lsoa[p]:03d}A", crime, "" if asb else OUTCOMES[outcome[i]], ""]
        if i % 997 == 5:  # no location: police.uk leaves the coordinates empty
            row[4] = row[5] = row[7] = row[8] = ""
            row[6] = "No Location"
            no_location += 1
        elif asb and i % 211 == 3 and rows:  # an identical ASB row, as published
            rows.append(list(row))
        elif not asb and i % 401 == 7 and rows and rows[-1][0]:  # a Crime ID again, with a later outcome
            row[0] = rows[-1][0]
            repeated += 1
        rows.append(row)
    return rows, no_location, repeated


def write_folders(root: Path, months: list[str], forces: tuple[str, ...], per_file: int, seed: int = 1) -> Written:
    """`root/YYYY-MM/YYYY-MM-<force>-street.csv` for every month and force, `per_file` crimes each."""
    rng = np.random.default_rng(seed)
    files, rows, bad, rep = [], 0, 0, 0
    for month in months:
        for force in forces:
            data, no_loc, again = month_rows(month, force, per_file, rng)
            path = root / month / f"{month}-{force}-street.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as handle:
                out = csv.writer(handle)
                out.writerow(HEADER)
                out.writerows(data)
            files.append(path)
            rows, bad, rep = rows + len(data), bad + no_loc, rep + again
    return Written(tuple(files), rows, bad, rep)


def zip_folders(root: Path, archive: Path) -> Path:
    """A zip of `root`'s month folders, as data.police.uk's download offers them."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(root.rglob("*.csv")):
            out.write(path, path.relative_to(root).as_posix())
    return archive


def csv_text(rows: list[list[str]]) -> str:
    """The rows under the police.uk header, as CSV text."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(HEADER)
    out.writerows(rows)
    return buffer.getvalue()
