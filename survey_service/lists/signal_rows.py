"""The rows behind each padding signal of a list, for the reviewer to open.

Each signal on the review page (numbers shared with another unit's list,
staff numbers, runs of consecutive numbers, one name with many numbers)
opens to the rows that make it: row number, masked number, masked name, and
which other unit (for shared and staff numbers). Names and numbers are
decrypted here only to find runs and equal names, and leave masked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from survey_service.models import Client, ClientList, ListStatus, StaffNumber, Unit
from survey_service.privacy.vault import NAME, PhoneVault, mask_name

SIGNALS = {
    "shared": "与其他单位名单重复的号码",
    "staff": "本单位或其他单位工作人员号码",
    "runs": "连号段（3 个及以上连续号码）",
    "names": "同一姓名对应 3 个及以上号码",
}
MAX_ROWS = 500
MIN_RUN = 3
MANY_NUMBERS = 3


@dataclass(frozen=True)
class SignalRow:
    row_number: int
    phone: str  # masked
    name: str  # masked
    note: str  # which other unit, which run, which name group


def signal_rows(
    session: Session, client_list: ClientList, vault: PhoneVault, signal: str
) -> list[SignalRow]:
    """The list's rows behind ``signal`` (a key of SIGNALS), in row order, at most MAX_ROWS."""
    rows = {"shared": _shared, "staff": _staff, "runs": _runs, "names": _names}[signal](
        session, client_list, vault
    )
    return sorted(rows, key=lambda r: (r.row_number, r.note))[:MAX_ROWS]


def _name(vault: PhoneVault, token: str | None) -> str:
    return mask_name(vault.decrypt_text(token, NAME)) or "" if token else ""


def _shared(session, client_list, vault):
    other_lists = select(ClientList.id).where(
        ClientList.wave_id == client_list.wave_id,
        ClientList.unit_id != client_list.unit_id,
        ClientList.status.in_([ListStatus.SUBMITTED, ListStatus.APPROVED]),
    )
    # As the signal counts them: an IN over the other lists' hashes (phone_hash has
    # no index; a join would walk the other lists once per row of this one).
    other_hashes = select(Client.phone_hash).where(Client.list_id.in_(other_lists))
    mine = session.exec(
        select(Client.row_number, Client.phone_masked, Client.name, Client.phone_hash)
        .where(Client.list_id == client_list.id, Client.phone_hash.in_(other_hashes))
        .order_by(Client.row_number)
        .limit(MAX_ROWS)
    ).all()
    units: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(mine), 400):  # bound the statement's parameters
        hashes = [h for *_rest, h in mine[start : start + 400]]
        for phone_hash, unit in session.exec(
            select(Client.phone_hash, Unit.name)
            .join(ClientList, ClientList.id == Client.list_id)
            .join(Unit, Unit.id == ClientList.unit_id)
            .where(Client.list_id.in_(other_lists), Client.phone_hash.in_(hashes))
        ).all():
            units[phone_hash].add(unit)
    return [
        SignalRow(r, p, _name(vault, n), f"也在 {unit} 的名单上")
        for r, p, n, h in mine
        for unit in sorted(units[h])
    ]


def _staff(session, client_list, vault):
    found = session.exec(
        select(Client.row_number, Client.phone_masked, Client.name, Unit.id, Unit.name)
        .join(StaffNumber, StaffNumber.phone_hash == Client.phone_hash)
        .join(Unit, Unit.id == StaffNumber.unit_id)
        .where(Client.list_id == client_list.id, StaffNumber.wave_id == client_list.wave_id)
    ).all()
    return [
        SignalRow(
            r,
            p,
            _name(vault, n),
            "本单位工作人员号码" if unit_id == client_list.unit_id else f"{unit} 工作人员号码",
        )
        for r, p, n, unit_id, unit in found
    ]


def _clients(session, client_list):
    return session.exec(
        select(Client.row_number, Client.phone_enc, Client.phone_masked, Client.name).where(
            Client.list_id == client_list.id
        )
    ).all()


def _runs(session, client_list, vault):
    mobiles = []
    for row, token, masked, name in _clients(session, client_list):
        phone = vault.decrypt(token)
        if phone.startswith("+861") and len(phone) == 14:
            mobiles.append((int(phone[3:]), row, masked, name))
    mobiles.sort()
    out, run = [], []
    for item in [*mobiles, None]:
        if item is not None and run and item[0] == run[-1][0] + 1:
            run.append(item)
            continue
        if len(run) >= MIN_RUN:
            label = f"连号段 {run[0][2]} 起 {len(run)} 个"
            out += [SignalRow(r, m, _name(vault, n), label) for _k, r, m, n in run]
        run = [item] if item is not None else []
    return out


def _names(session, client_list, vault):
    groups: dict[str, list] = defaultdict(list)
    for row, _token, masked, name in _clients(session, client_list):
        if name:
            groups[vault.decrypt_text(name, NAME)].append((row, masked))
    out = []
    for name, items in groups.items():
        if len(items) >= MANY_NUMBERS:  # a list's accepted numbers are distinct
            label = f"{mask_name(name)} 共 {len(items)} 个号码"
            out += [SignalRow(r, m, mask_name(name) or "", label) for r, m in items]
    return out
