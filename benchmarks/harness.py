"""Small shared pieces for the benchmark modules."""
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the benchmark table: a measurement and the baseline it is compared with."""

    name: str
    unit: str  # "s", "ms", "MiB", "%", "count", ...
    value: float  # median of `runs` measurements
    baseline_name: str = ""
    baseline_value: float = float("nan")  # median, measured in the same run
    runs: int = 1
    note: str = ""
    samples: list = field(default_factory=list, repr=False)

    @property
    def ratio(self):
        """value / baseline (smaller is better for times and memory)."""
        if not self.baseline_value or self.baseline_value != self.baseline_value:
            return float("nan")
        return self.value / self.baseline_value


def median_of(measure, repeats):
    """Call ``measure()`` (returning one number) ``repeats`` times; return (median, samples)."""
    samples = [measure() for _ in range(repeats)]
    return statistics.median(samples), samples


def seconds(fn):
    """Wall-clock seconds for one call of ``fn()``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
