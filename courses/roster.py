"""Reading a roster CSV (the web import). Columns: email (required), external_id, username,
first_name, last_name, role (student, ta or instructor; default student). The rows are
upserted by the same service as the REST API's roster sync."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from courses.models import Role

COLUMNS = ("email", "external_id", "username", "first_name", "last_name", "role")
MAX_ROWS = 5000


def parse_roster(data: bytes) -> list[dict]:
    """Rows ready for do_sync_roster; raises ValidationError naming the line of the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text (export it as CSV UTF-8).") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ValidationError("The first line must name the columns, including 'email'.")
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {
            k.strip().lower(): (v or "").strip() for k, v in raw.items() if k and k.strip().lower() in COLUMNS
        }
        try:
            validate_email(row.get("email", ""))
        except ValidationError:
            raise ValidationError(f"Line {line}: {row.get('email')!r} is not an e-mail address.") from None
        role = row.get("role") or Role.STUDENT
        if role not in Role.values:
            raise ValidationError(f"Line {line}: role must be student, ta or instructor, not {role!r}.")
        rows.append({**{k: v for k, v in row.items() if v}, "role": role})
        if len(rows) > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} people per import.")
    if not rows:
        raise ValidationError("The file has no rows.")
    return rows
