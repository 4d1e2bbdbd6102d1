"""The lab's Gaussian mixture (the parameters of section 1.1) and its fixed data set."""
import io
import zipfile
from pathlib import Path

import numpy as np

from autograder.course import LAB_DATA_SEED
from autograder.reference import sample_gmm

N = 250
CATEGORY_PROB = np.array([1 / 3, 1 / 3, 1 / 3])
MEANS = np.array([[0.0, 0.0], [5.0, 2.0], [1.0, 7.0]])
COVARIANCE_MATRICES = np.array(
    [
        [[0.7, -0.4], [-0.4, 0.5]],
        [[1.0, 0.6], [0.6, 1.0]],
        [[0.5, 0.0], [0.0, 0.5]],
    ]
)


def lab_points(seed=LAB_DATA_SEED):
    """The lab's 250 points and their true components, ``(X, z)``, drawn reproducibly."""
    return sample_gmm(N, CATEGORY_PROB, MEANS, COVARIANCE_MATRICES, rng=np.random.default_rng(seed))


def write_lab_points(path):
    """Store the lab's points as the ``.npz`` file released with the notebook."""
    X, z = lab_points()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # np.savez writes a zip whose entries carry the current time: fix it so the file is reproducible.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("X", X), ("z", z)):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    return path
