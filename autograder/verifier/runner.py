"""Running one check against the kernel's arguments: proxies in, a :class:`Verdict` out."""
import traceback
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from autograder.checks._feedback import Failed
from autograder.verifier.channel import KernelMisbehaved
from autograder.verifier.remote import Argument, RemoteFunction, RemoteObject


@dataclass
class Verdict:
    """What the verifier decided about one check: the student's message and the instructor's diagnosis."""

    passed: bool
    message: str = ""
    diagnosis: str = ""
    internal_error: str = ""  # our own check broke (a traceback for the instructor, never shown to students)

    def to_dict(self):
        return asdict(self)


def check_rng(seed, name):
    """The generator a check draws its inputs from: the run's secret seed and the check's name."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def run_check(check, channel, descriptors, rng):
    """Judge ``check`` on the kernel's arguments (described by ``descriptors``) over ``channel``."""
    if not isinstance(descriptors, list) or len(descriptors) != len(check.parameters):
        count = len(descriptors) if isinstance(descriptors, list) else "?"
        return Verdict(False, f"lab5_grader.check({check.name!r}, ...) needs {len(check.parameters)} argument(s) "
                              f"({', '.join(check.parameters)}), got {count}.", "kernel.wrong_arguments")
    proxies = []
    for index, (parameter, descriptor) in enumerate(zip(check.parameters, descriptors)):
        argument = Argument.from_descriptor(descriptor)
        if parameter in check.functions:
            proxies.append(RemoteFunction(channel, index, parameter, argument))
        else:
            proxies.append(RemoteObject(channel, index, argument))
    try:
        check.judge(*proxies, rng=rng)
    except Failed as failure:
        return Verdict(False, str(failure), failure.diagnosis or f"{check.name}.failed")
    except KernelMisbehaved as problem:
        return Verdict(False, f"This check could not be completed: {problem}.", "kernel.protocol")
    except Exception as exc:  # our examination of the output broke: one plain message, the details for the instructor
        return Verdict(False, f"{check.name}: the result could not be checked ({type(exc).__name__}: {str(exc)[:200]}).",
                       "grader.internal_error", internal_error=traceback.format_exc()[-4000:])
    return Verdict(True)
