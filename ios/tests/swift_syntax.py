#!/usr/bin/env python3
"""Syntax check of Swift files with tree-sitter-swift (no Swift toolchain is available on Linux).

Usage: swift_syntax.py FILE_OR_DIR...   (directories are searched for *.swift)

Before parsing, two known false errors of tree-sitter-swift 0.7.4 on valid Swift that UniFFI generates are
neutralized, keeping line numbers: lines holding only `@_documentation(visibility: private)` are blanked,
and the empty tuple used as a value (`{ () }`, `f(())`) is written `Void()`.
Every error or missing node is reported as `file:line:column: ...`; the exit status is 1 if any file has
one, 2 if no Swift file was given.

Each run first proves the checker can fail: a known-broken snippet must be reported and a known-good one
must pass, or the run stops with status 3.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tree_sitter_swift
from tree_sitter import Language, Node, Parser

PRIVATE_DOC = re.compile(r"^\s*@_documentation\(visibility:\s*private\)\s*$")

BROKEN = b"""
public final class Broken {
    public func unlock(lockId: String) async throws -> {
        let x = (1 +
    }
"""

GOOD = b"""
import Foundation
public extension Array where Element == Int {
    func total() async throws -> Int { reduce(0, +) }
}
#if swift(>=5.8)
@_documentation(visibility: private)
#endif
public struct S: Sendable { let stream = AsyncStream<Int> { $0.finish() } }
let done: Result<Void, Error> = .success(())
let writeReturn = { () }
"""


def parser() -> Parser:
    return Parser(Language(tree_sitter_swift.language()))


EMPTY_TUPLE_VALUES = [(b"{ () }", b"{ Void() }"), (b"(())", b"(Void())")]


def prepare(source: bytes) -> bytes:
    lines = source.split(b"\n")
    source = b"\n".join(b"" if PRIVATE_DOC.match(line.decode("utf-8", "replace")) else line for line in lines)
    for value, same in EMPTY_TUPLE_VALUES:
        source = source.replace(value, same)
    return source


def problems(source: bytes, swift: Parser) -> list[tuple[int, int, str]]:
    """(line, column, what) of each syntax error, 1-based."""
    tree = swift.parse(prepare(source))
    found: list[tuple[int, int, str]] = []

    def walk(node: Node) -> None:
        if node.is_error or node.is_missing:
            line, column = node.start_point
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            text = node.text.decode("utf-8", "replace").strip().splitlines()
            snippet = text[0][:60] if text else ""
            found.append((line + 1, column + 1, f"{what} near `{snippet}`"))
            if node.is_error:
                return
        if node.has_error:
            for child in node.children:
                walk(child)

    walk(tree.root_node)
    return found


def self_test(swift: Parser) -> None:
    if not problems(BROKEN, swift):
        print("swift_syntax: self-test FAILED: a broken snippet was not reported", file=sys.stderr)
        sys.exit(3)
    good = problems(GOOD, swift)
    if good:
        print(f"swift_syntax: self-test FAILED: a valid snippet was reported: {good}", file=sys.stderr)
        sys.exit(3)


def swift_files(arguments: list[str]) -> list[Path]:
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files.extend(sorted(path.rglob("*.swift")))
        elif path.is_file():
            files.append(path)
        else:
            print(f"swift_syntax: {path} does not exist", file=sys.stderr)
            sys.exit(2)
    return files


def main(arguments: list[str]) -> int:
    swift = parser()
    self_test(swift)
    files = swift_files(arguments)
    if not files:
        print("swift_syntax: no Swift file to check", file=sys.stderr)
        return 2
    failed = 0
    lines = 0
    for path in files:
        source = path.read_bytes()
        lines += source.count(b"\n")
        for line, column, what in problems(source, swift):
            print(f"{path}:{line}:{column}: {what}")
            failed += 1
    print(f"swift_syntax: {len(files)} files, {lines} lines, {failed} syntax errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
