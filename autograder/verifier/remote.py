"""The student's objects as the verifier sees them: proxies that ask the kernel.

A check receives :class:`RemoteFunction` for a graded function (calling it is one round trip:
the inputs go to the kernel, the return value or the exception comes back as data),
:class:`RemoteObject` for a fitted model (its attributes are read on request) and plain decoded
values for data (``elbow_scores``, images). Nothing the kernel sends is executed; an exception in
the student's code arrives as :class:`StudentRaised` (its type name, message and line, as text).
"""
from dataclasses import dataclass, field

from autograder.verifier.channel import KernelMisbehaved


def _text(value, limit):
    return value[:limit] if isinstance(value, str) else None


class StudentRaised(Exception):
    """The student's code raised ``type_name`` (reported by the kernel, never re-raised there)."""

    def __init__(self, type_name, message, line=None, code=None):
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.line = line
        self.code = code


@dataclass
class Argument:
    """What the kernel said about one argument of the check call (untrusted, for messages only)."""

    callable: bool = False
    type_name: str = "?"

    @classmethod
    def from_descriptor(cls, descriptor):
        if not isinstance(descriptor, dict):
            return cls()
        return cls(callable=descriptor.get("callable") is True, type_name=_text(descriptor.get("type"), 200) or "?")


class RemoteFunction:
    """Call the kernel's function number ``index`` (as the notebook named it: ``name``)."""

    def __init__(self, channel, index, name, argument=None):
        self.channel, self.index, self.__name__ = channel, index, name
        self.argument = argument or Argument(callable=True, type_name="function")

    @property
    def callable(self):
        return self.argument.callable

    def __call__(self, *args, seed_globals=None, **kwargs):
        reply, blobs = self.channel.request(
            {"op": "call", "target": self.index, "args": list(args), "kwargs": kwargs, "seed_globals": seed_globals},
            value_fields=("args", "kwargs"))
        op = reply.get("op")
        if op == "returned":
            return self.channel.decode(reply.get("value"), blobs)
        if op == "raised":
            line = reply.get("line")
            raise StudentRaised(_text(reply.get("type"), 80) or "Exception", _text(reply.get("message"), 400) or "",
                                line if isinstance(line, int) and not isinstance(line, bool) else None,
                                _text(reply.get("code"), 200))
        raise KernelMisbehaved(f"the kernel answered a call with {str(op)[:40]!r}")


@dataclass
class ObjectView:
    """Attributes of a student's object, read once: ``type_name`` and ``values[name]``."""

    type_name: str
    values: dict = field(default_factory=dict)

    def has(self, name):
        return name in self.values

    def get(self, name, default=None):
        return self.values.get(name, default)


class RemoteObject:
    """The kernel's argument number ``index``, read on request (attributes or the whole value)."""

    def __init__(self, channel, index, argument=None):
        self.channel, self.index = channel, index
        self.argument = argument or Argument()

    def attributes(self, *names):
        reply, blobs = self.channel.request({"op": "attributes", "target": self.index, "names": list(names)})
        if reply.get("op") != "attributes" or not isinstance(reply.get("values"), dict):
            raise KernelMisbehaved(f"the kernel answered an attribute request with {str(reply.get('op'))[:40]!r}")
        values = {name: self.channel.decode(tree, blobs) for name, tree in reply["values"].items() if name in names}
        return ObjectView(_text(reply.get("type"), 200) or "?", values)

    def value(self):
        reply, blobs = self.channel.request({"op": "get", "target": self.index})
        if reply.get("op") != "value":
            raise KernelMisbehaved(f"the kernel answered a value request with {str(reply.get('op'))[:40]!r}")
        return self.channel.decode(reply.get("value"), blobs)
