"""A doorcode as a script holds it: the generated bindings lift the code into `SecretText` (bindings/uniffi.toml)."""


class SecretText:
    """A secret, such as a doorcode. `str()` and `repr()` show `*******`, so a record holding it prints without
    leaking the code; read the secret on purpose with `reveal()`. Equal when the secrets are equal."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """The secret itself. Show it to the user; never log it."""
        return self._value

    def __str__(self) -> str:
        return "*******"

    def __repr__(self) -> str:
        return "SecretText(*******)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretText) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
