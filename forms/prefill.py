"""What the desk already knows that an item's form asks again: which fields start from the resident's record.

The catalog names fields by what they mean, so the choice is made here once from the key and the type: an address
field asking where the applicant lives now (or where a card is mailed "到家") starts with the address on the
resident's record. Not the 户籍地址 (the record's address is where they live, not where they are registered), not
an address of someone else (a party to a dispute, a flat let to tenants). The wizard fills such a field only while
it is empty; the worker checks it with the resident and may change it.
"""

from __future__ import annotations

from forms.schema import ServiceItem

# 现居住地址, 居住地址 / 目前居住地址, 邮寄地址 (邮寄到家), 租赁住房地址 (the flat the applicant rents and lives in)
RESIDENT_ADDRESS_KEYS = frozenset({"current_address", "residence_address", "mailing_address", "rented_address"})


def resident_address_fields(item: ServiceItem) -> tuple[str, ...]:
    """Keys of the item's top-level address fields that take the resident's address, in form order."""
    return tuple(f.key for _, f in item.iter_fields()
                 if f.type == "address" and not f.is_computed and f.key in RESIDENT_ADDRESS_KEYS)
