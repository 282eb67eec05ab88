import logging

import pytest

from flowaudio.text.symbols import BLANK, BOS, EOS, PAD, SYMBOL_TABLES, SymbolTable, intersperse


def test_published_table_is_well_formed():
    table = SymbolTable.load("1")
    assert table.symbols[:4] == (PAD, BLANK, BOS, EOS)
    assert table.pad_id == 0
    assert len(set(table.symbols)) == len(table.symbols)
    # every token except the named specials is a single code point
    assert all(len(s) == 1 for s in table.symbols[4:])
    for ch in " .,?!abcz" + "ˈˌːəɪθðŋʃʒɹɾ":
        assert ch in table


def test_round_trip_through_dict():
    table = SymbolTable.load()
    again = SymbolTable.from_dict(table.to_dict())
    assert again.symbols == table.symbols
    assert again.version == table.version


def test_stored_list_wins_over_builtin():
    custom = SymbolTable((PAD, BLANK, BOS, EOS, "a", "b"), "custom")
    loaded = SymbolTable.from_dict(custom.to_dict())
    assert loaded.encode("ba") == [5, 4]


def test_unknown_version_says_what_to_do():
    with pytest.raises(ValueError, match="upgrade flowaudio"):
        SymbolTable.load("999")
    assert "1" in SYMBOL_TABLES


def test_bad_tables_are_rejected():
    with pytest.raises(ValueError, match="must start with"):
        SymbolTable(("a", "b"), "x")
    with pytest.raises(ValueError, match="duplicate"):
        SymbolTable((PAD, BLANK, BOS, EOS, "a", "a"), "x")
    with pytest.raises(ValueError, match="not a symbol table"):
        SymbolTable.from_dict({"symbols": ["a"]})


def test_unknown_symbols_dropped_with_one_warning(caplog):
    table = SymbolTable.load()
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.symbols"):
        ids = table.encode("a☃b☃ж")
        again = table.encode("☃ж")
    assert table.decode(ids) == ["a", "b"]
    assert again == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "☃" in warnings[0].getMessage()
    assert "ж" in warnings[0].getMessage()


def test_decode_rejects_out_of_range():
    with pytest.raises(ValueError, match="outside"):
        SymbolTable.load().decode([10_000])


def test_intersperse():
    assert intersperse([5, 6, 7], 1) == [1, 5, 1, 6, 1, 7, 1]
    assert intersperse([], 1) == [1]
