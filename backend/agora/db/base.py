"""Declarative base and the column types on-chain values need."""

from __future__ import annotations

from sqlalchemy import MetaData, Numeric, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

UINT256_DIGITS = 78  # 2**256 - 1 has 78 decimal digits


def check_uint256(value: int) -> int:
    if value < 0:
        raise ValueError(f"Uint256 cannot hold {value}")
    return value


class Uint256(TypeDecorator):
    """An unsigned on-chain integer, exact in every backend.

    PostgreSQL stores NUMERIC(78, 0). SQLite would store NUMERIC as a float and round
    token amounts, so there it is zero-padded text, which also sorts in numeric order.
    """

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(UINT256_DIGITS, 0))
        return dialect.type_descriptor(String(UINT256_DIGITS))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = check_uint256(int(value))
        return value if dialect.name == "postgresql" else str(value).zfill(UINT256_DIGITS)

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class HexString(TypeDecorator):
    """0x-hex text: hashes and addresses. On PostgreSQL it compares byte by byte (COLLATE
    "C"): the locale's collation rules gain nothing on hex and made every index insert of
    a backfill markedly slower."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(self.impl.length, collation="C"))
        return dialect.type_descriptor(String(self.impl.length))


Address = HexString(42)
Hash = HexString(66)
