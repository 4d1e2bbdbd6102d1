# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 5: Mixture models, K-means and EM
#
# In this lab you will build a **Gaussian mixture model** (GMM), draw data from it, and then try to recover
# its structure from the data alone: first with **K-means** (hard clustering), then with
# **Expectation–Maximisation** (EM, soft clustering). You finish by using both to reduce the palette of a photograph.
#
# **How this notebook is graded.** Cells that say `# YOUR CODE HERE` are yours. The test cell under each task
# shows a few quick checks you can run yourself; more checks (on other inputs) run when the notebook is graded,
# and each comes with a message saying what went wrong. Written answers (cells saying `YOUR ANSWER HERE`) are
# marked by a person. Before you submit, use *Restart Kernel and Run All Cells*, then *Validate*:
# it runs the whole notebook again and shows which quick checks pass or fail, in a summary from the last cell (worth
# 0 points). Passing the quick checks is not full marks: the other checks run only when your notebook is graded.
#
# Do not rename the graded functions or change their arguments; do not delete or copy cells.
#
# Reading: Bishop, *Pattern Recognition and Machine Learning*, §9.1 (K-means) and §9.2–9.4 (mixtures and EM).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os
import warnings

import imageio.v3 as iio
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

# %matplotlib inline

# Interactive widgets need a browser; nbgrader sets NBGRADER_EXECUTION while it runs the notebook.
SHOW_WIDGETS = not os.environ.get("NBGRADER_EXECUTION")

# %% [markdown]
# ## 1. Mixture models
#
# Many data sets are not shaped like one bell curve: heights of adults (two sexes), pixel colours in a photo
# (sky, sea, land), measurements from several machines. A **mixture model** describes such data as coming from
# $K$ simpler distributions, each responsible for one sub-population.
#
# Each point $x_i$ comes with a hidden (latent) label $z_i \in \{1, \dots, K\}$ saying which component produced it.
# The labels follow a categorical distribution with probabilities $\phi = (\phi_1, \dots, \phi_K)$,
# $$z_i \sim \mathrm{Categorical}(\phi), \qquad \phi_j \ge 0, \quad \sum_{j=1}^{K} \phi_j = 1,$$
# and, given its label, the point is drawn from that component. When every component is Gaussian we have a
# **Gaussian mixture model**:
# $$x_i \mid z_i = j \;\sim\; \mathcal{N}(\mu_j, \Sigma_j), \qquad
# p(x) = \sum_{j=1}^{K} \phi_j \, \mathcal{N}(x \mid \mu_j, \Sigma_j).$$
# The observed data never tell us $z_i$: that is what makes fitting a mixture interesting.

# %% [markdown]
# ### 1.1 Sampling from a Gaussian mixture (ancestral sampling)
#
# We sample in the order the model is written down, parents before children (*ancestral sampling*): first the
# label $z_i \sim \mathrm{Categorical}(\phi)$, then the point $x_i \sim \mathcal{N}(\mu_{z_i}, \Sigma_{z_i})$.
#
# Our example mixture has $K = 3$ components in two dimensions:
# $$
# \mu_1 = \begin{bmatrix} 0\\ 0\end{bmatrix}, \Sigma_1 = \begin{bmatrix} 0.7 & -0.4\\ -0.4 & 0.5\end{bmatrix}, \quad
# \mu_2 = \begin{bmatrix} 5\\ 2\end{bmatrix}, \Sigma_2 = \begin{bmatrix} 1.0 & 0.6\\ 0.6 & 1.0\end{bmatrix}, \quad
# \mu_3 = \begin{bmatrix} 1\\ 7\end{bmatrix}, \Sigma_3 = \begin{bmatrix} 0.5 & 0.0\\ 0.0 & 0.5\end{bmatrix},
# \qquad \phi = \begin{bmatrix} 1/3 \\ 1/3 \\ 1/3\end{bmatrix}.
# $$
# (In code the components are numbered from 0.)

# %%
N = 250  # number of points to draw
K = 3    # number of components

category_prob = np.array([1 / 3, 1 / 3, 1 / 3])  # phi: must be non-negative and sum to 1

means = np.array([[0.0, 0.0],
                  [5.0, 2.0],
                  [1.0, 7.0]])

covariance_matrices = np.array([[[0.7, -0.4],
                                 [-0.4, 0.5]],
                                [[1.0, 0.6],
                                 [0.6, 1.0]],
                                [[0.5, 0.0],
                                 [0.0, 0.5]]])


# %% [markdown]
# **Task 1.** Write `sample_gmm(N, category_prob, means, covariance_matrices, rng=None)`. It returns
#
# * `X`, shape `(N, d)`: the points, and
# * `z`, shape `(N,)`: the **integer** component index (`0 … K-1`) of every point.
#
# It must work for any number of components $K$ and any dimension $d$ (read them from the shapes of the
# arguments), and for any valid `category_prob`. `rng` is a random generator to draw from
# (`np.random.default_rng(rng)` turns `None`, a seed or a generator into one).
#
# *Hints:* `rng.choice(K, size=N, p=category_prob)` draws all labels at once;
# `rng.multivariate_normal(mean, cov, size=n)` draws `n` points from one Gaussian.

# %% nbgrader={"grade": false, "grade_id": "sample_gmm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample_gmm(N, category_prob, means, covariance_matrices, rng=None):
    """Draw N points from a Gaussian mixture by ancestral sampling.

    Returns (X, z): X has shape (N, d); z has shape (N,) and holds integer component indices.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    category_prob = np.asarray(category_prob, dtype=float)
    means = np.asarray(means, dtype=float)
    covariance_matrices = np.asarray(covariance_matrices, dtype=float)

    z = rng.choice(len(category_prob), size=N, p=category_prob)
    X = np.empty((N, means.shape[1]))
    for k in range(len(category_prob)):
        in_component = z == k
        X[in_component] = rng.multivariate_normal(means[k], covariance_matrices[k],
                                                  size=int(in_component.sum()))
    return X, z
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sample_gmm_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Quick checks (2 points). More checks run when the notebook is graded.
X_check, z_check = sample_gmm(1000, category_prob, means, covariance_matrices, rng=np.random.default_rng(1))
assert np.shape(X_check) == (1000, 2), f"X should have shape (1000, 2), got {np.shape(X_check)}"
assert np.shape(z_check) == (1000,), f"z should have shape (1000,), got {np.shape(z_check)}"
assert np.issubdtype(np.asarray(z_check).dtype, np.integer), f"z should hold integers, got dtype {np.asarray(z_check).dtype}"
assert set(np.unique(z_check)) <= {0, 1, 2}, f"z should only hold 0, 1 or 2, got {np.unique(z_check).tolist()}"
print("sample_gmm: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("sample_gmm_visible", sample_gmm)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sample_gmm_shape_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (2 points): shapes and types for other K, N and dimensions
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("sample_gmm_shape", sample_gmm)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sample_gmm_proportions_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): the proportions of z follow category_prob, including unequal ones
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("sample_gmm_proportions", sample_gmm)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sample_gmm_moments_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): the mean and covariance of X within each component
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("sample_gmm_moments", sample_gmm)
### END HIDDEN TESTS

# %% [markdown]
# Now draw the lab's 250 points and look at them. **Task 2** (not graded, but you need it for the questions):
# make a scatter plot of `X_sampled`, with each point coloured by its component `z_sampled`
# (`plt.scatter(..., c=z_sampled)` takes a vector of integers).

# %%
X_sampled, z_sampled = sample_gmm(N, category_prob, means, covariance_matrices, rng=np.random.default_rng(0))
print("proportions of each component:", np.bincount(z_sampled, minlength=K) / N)

# %% nbgrader={"grade": false, "grade_id": "scatter_samples", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
fig, ax = plt.subplots(figsize=(5, 5))
scatter = ax.scatter(X_sampled[:, 0], X_sampled[:, 1], c=z_sampled, s=15, cmap="viridis", alpha=0.8)
ax.legend(*scatter.legend_elements(), title="component z")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title=f"{N} points from the mixture")
ax.set_aspect("equal")
plt.show()
### END SOLUTION

# %% [markdown]
# **Play with it.** The explorer below draws from the mixture with *your* `sample_gmm`. Move the sliders for the
# means, the spreads ($\sigma_x$, $\sigma_y$), the correlation $\rho$ and the weights: the weights are
# normalised so that $\phi$ always sums to 1, and the panel shows the proportions actually sampled beside $\phi$.

# %%
if SHOW_WIDGETS:
    from lab5_widgets import gmm_explorer

    display(gmm_explorer(sample_gmm, category_prob, means, covariance_matrices))

# %% [markdown]
# **Question 1.1.** Change `category_prob` (or use the explorer's weight sliders). What happens to the
# proportion of points from each component? How close are the sampled proportions to $\phi$ for $N = 250$,
# and how does that change with $N$?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_category_prob", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# The share of points with $z_i = j$ follows $\phi_j$: the count of component $j$ is Binomial$(N, \phi_j)$, so its
# proportion has mean $\phi_j$ and standard deviation $\sqrt{\phi_j(1-\phi_j)/N}$, about 0.03 for $\phi_j = 1/3$ and
# $N = 250$. Larger $N$ brings the proportions closer to $\phi$ (the error shrinks like $1/\sqrt{N}$); a component
# with a small $\phi_j$ gets few points and its cloud looks sparse.
# ### END SOLUTION

# %% [markdown]
# ## 2. K-means clustering
#
# Clustering splits a data set into groups whose members are similar to each other, with no labels to learn from.
# **K-means** is the simplest example, and a *hard* clustering: every point belongs to exactly one cluster.
#
# 1. Choose the number of clusters $K$ (domain knowledge, trial and error, or a method such as the elbow
#    method of §2.3).
# 2. Initialise $K$ centroids, usually at $K$ data points picked at random.
# 3. **Assignment step:** give every point to the cluster whose centroid is nearest in Euclidean distance.
# 4. **Update step:** move every centroid to the mean of the points assigned to it.
# 5. Repeat 3–4 until the assignments stop changing.
#
# Each step can only lower (or keep) the objective
# $J = \sum_{i} \lVert x_i - \mu_{c_i} \rVert^2$, the sum of squared distances from points to their centroids,
# so the algorithm always stops — but maybe in a local minimum. See Bishop §9.1.
#
# From here on everyone works with the same 250 points, drawn once from the mixture of §1.1 and stored in
# `data/lab5_points.npz`, so that your results can be compared with your classmates'.

# %% nbgrader={"grade": false, "grade_id": "load_lab_points", "locked": true, "schema_version": 3, "solution": false, "task": false}
lab_points = np.load("data/lab5_points.npz")
X = lab_points["X"]       # (250, 2) points
z_true = lab_points["z"]  # the component each point really came from (unknown in practice)
print(X.shape, np.bincount(z_true))


# %% [markdown]
# ### 2.1 Implementing K-means
#
# **Task 3.** Write `get_cluster_assignments(X, centroid_locations)` (step 3):
#
# * `X`: points, shape `(N, d)`; `centroid_locations`: centroids, shape `(K, d)`;
# * returns a vector of shape `(N,)` holding, for each point, the **integer index** of its nearest centroid.
#
# *Hint:* broadcasting `X[:, None, :] - centroid_locations[None, :, :]` gives every point–centroid difference at
# once; `np.linalg.norm(..., axis=...)` and `np.argmin(..., axis=...)` do the rest.

# %% nbgrader={"grade": false, "grade_id": "get_cluster_assignments", "locked": false, "schema_version": 3, "solution": true, "task": false}
def get_cluster_assignments(X, centroid_locations):
    """Index of the nearest centroid (Euclidean distance) for every point: shape (N,)."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    centroid_locations = np.asarray(centroid_locations, dtype=float)
    distances = np.linalg.norm(X[:, None, :] - centroid_locations[None, :, :], axis=2)  # (N, K)
    return np.argmin(distances, axis=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_assignments_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Quick checks (2 points). More checks run when the notebook is graded.
points = np.array([[0.0, 0.0], [10.0, 10.0], [9.0, 11.0], [-1.0, 0.5]])
centroids = np.array([[10.0, 10.0], [0.0, 0.0]])
labels = get_cluster_assignments(points, centroids)
assert np.shape(labels) == (4,), f"expected one label per point, shape (4,), got {np.shape(labels)}"
assert np.issubdtype(np.asarray(labels).dtype, np.integer), f"labels should be integers, got dtype {np.asarray(labels).dtype}"
assert np.asarray(labels).tolist() == [1, 0, 0, 1], f"expected [1, 0, 0, 1], got {np.asarray(labels).tolist()}"
print("get_cluster_assignments: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_assignments_visible", get_cluster_assignments)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_assignments_shape_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (2 points): shape and integer type for other N, K and dimensions
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_assignments_shape", get_cluster_assignments)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_assignments_easy_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): labels on well-separated data
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_assignments_easy", get_cluster_assignments)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_assignments_hard_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): labels on hard data (float32, non-contiguous arrays, near-ties, many clusters)
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_assignments_hard", get_cluster_assignments)
### END HIDDEN TESTS

# %% [markdown]
# **Task 4.** Write `get_cluster_centroids(X, cluster_assignments)` (step 4):
#
# * `X`: points, shape `(N, d)`; `cluster_assignments`: integer labels, shape `(N,)`;
# * returns the `(K, d)` array whose row `k` is the mean of the points with label `k`,
#   where `K = cluster_assignments.max() + 1`.
#
# Careful with integer data (for example `uint8` pixel values): add them up as floats.

# %% nbgrader={"grade": false, "grade_id": "get_cluster_centroids", "locked": false, "schema_version": 3, "solution": true, "task": false}
def get_cluster_centroids(X, cluster_assignments):
    """Mean of the points in each cluster: shape (K, d), K = cluster_assignments.max() + 1."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    cluster_assignments = np.asarray(cluster_assignments)
    n_clusters = int(cluster_assignments.max()) + 1
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in range(n_clusters)])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_centroids_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Quick checks (2 points). More checks run when the notebook is graded.
points = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 14.0]])
centroids = get_cluster_centroids(points, np.array([1, 1, 0, 0]))
assert np.shape(centroids) == (2, 2), f"expected shape (2, 2), got {np.shape(centroids)}"
assert np.allclose(centroids, [[11.0, 12.0], [1.0, 0.0]]), f"expected [[11, 12], [1, 0]], got {np.asarray(centroids).tolist()}"
print("get_cluster_centroids: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_centroids_visible", get_cluster_centroids)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_centroids_shape_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (2 points): shape and type for other N, K and dimensions
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_centroids_shape", get_cluster_centroids)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_centroids_easy_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): means on simple data
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_centroids_easy", get_cluster_centroids)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_get_cluster_centroids_hard_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): means on hard data (uint8 pixels, float32, any integer label type, unsorted labels)
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("get_cluster_centroids_hard", get_cluster_centroids)
### END HIDDEN TESTS

# %% [markdown]
# The next cell runs K-means with your two functions: it picks $K$ distinct data points as the first centroids,
# then alternates your assignment and update steps until the labels stop changing. It keeps every iteration so
# that we can draw them side by side afterwards.

# %% nbgrader={"grade": false, "grade_id": "kmeans_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def kmeans_objective(X, cluster_assignments, centroid_locations):
    """Sum of squared distances from every point to its centroid (the K-means objective J)."""
    return float(((X - centroid_locations[cluster_assignments]) ** 2).sum())


def run_kmeans(X, initial_centroids, max_iterations=30):
    """Lloyd's algorithm with the student's two steps; returns the list of (centroids, labels) per iteration."""
    centroid_locations = initial_centroids
    cluster_assignments = get_cluster_assignments(X, centroid_locations)
    history = [(centroid_locations, cluster_assignments)]
    for _ in range(max_iterations):
        centroid_locations = get_cluster_centroids(X, cluster_assignments)
        previous_assignments = cluster_assignments
        cluster_assignments = get_cluster_assignments(X, centroid_locations)
        history.append((centroid_locations, cluster_assignments))
        if np.array_equal(cluster_assignments, previous_assignments):
            break
    return history


def plot_clustering(ax, X, cluster_assignments, centroid_locations, title=""):
    """Points coloured by cluster, centroids as large crosses in the same colours."""
    n_clusters = len(centroid_locations)
    ax.scatter(X[:, 0], X[:, 1], s=12, c=cluster_assignments, cmap="viridis", vmin=0, vmax=n_clusters - 1, alpha=0.8)
    ax.scatter(centroid_locations[:, 0], centroid_locations[:, 1], s=200, marker="X", c=range(n_clusters),
               cmap="viridis", vmin=0, vmax=n_clusters - 1, edgecolors="k")
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")


def plot_kmeans_history(X, history, max_panels=6):
    """Small multiples of the first iterations and the last one (one figure, however many iterations)."""
    shown = list(range(min(len(history), max_panels - 1))) + [len(history) - 1]
    shown = sorted(set(shown))
    fig, axes = plt.subplots(1, len(shown), figsize=(3 * len(shown), 3.2), squeeze=False)
    for ax, i in zip(axes[0], shown):
        centroids, labels = history[i]
        plot_clustering(ax, X, labels, centroids, f"iteration {i}\nJ = {kmeans_objective(X, labels, centroids):.1f}")
    fig.tight_layout()
    plt.show()


# %%
K = 3
rng = np.random.default_rng(4)
initial_centroids = X[rng.choice(len(X), size=K, replace=False)]
history = run_kmeans(X, initial_centroids)
print(f"K-means stopped after {len(history) - 1} iterations")
plot_kmeans_history(X, history)

# %% [markdown]
# Is the result always the same? The next cell restarts K-means from 10 different random initial centroids and
# reports the final objective $J$ of each run.

# %%
for seed in range(10):
    start = X[np.random.default_rng(seed).choice(len(X), size=K, replace=False)]
    final_centroids, final_labels = run_kmeans(X, start)[-1]
    print(f"start {seed}: J = {kmeans_objective(X, final_labels, final_centroids):8.2f}, "
          f"cluster sizes {np.bincount(final_labels, minlength=K).tolist()}")

# %% [markdown]
# **Play with it.** Step through K-means one assignment or update at a time, choose $K$ and how the centroids
# start (random points or k-means++), and watch the objective fall.

# %%
if SHOW_WIDGETS:
    from lab5_widgets import kmeans_stepper

    display(kmeans_stepper(X, get_cluster_assignments, get_cluster_centroids))

# %% [markdown]
# **Question 2.1 (a).** Run K-means from 10 or more different starts (above). Are the resulting clusters always
# the same? When they differ, which result would you keep, and why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_kmeans_restarts", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Not always: K-means only finds a local minimum of $J$, and which one depends on the initial centroids. Some
# starts put two centroids in one true cloud and one between the other two, giving a larger $J$. Among several
# runs, keep the one with the smallest $J$ (this is what `n_init` does in scikit-learn); k-means++ starts make bad
# local minima rarer.
# ### END SOLUTION

# %% [markdown]
# **Question 2.1 (b).** Change the means or covariance matrices in §1.1 so that the components overlap more
# (or use the explorer) and cluster those samples. What happens to the consistency of the clustering, and to how
# well the clusters match the true components?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_kmeans_overlap", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# With more overlap the restarts disagree more often, the objective landscape has several local minima of similar
# $J$, and the clusters no longer match the true components: K-means cuts the overlap region with straight
# (Voronoi) boundaries and cannot express elongated or unequal clouds, so points from one component are given to
# another. Well-separated components are found consistently.
# ### END SOLUTION

# %% [markdown]
# ### 2.2 K-means in scikit-learn
#
# We do not need to write K-means ourselves every time: scikit-learn has
# [`KMeans`](https://scikit-learn.org/stable/modules/generated/sklearn.cluster.KMeans.html).
#
# **Task 5.** Fit `KMeans` with 3 clusters to `X` and store the fitted estimator in `kmeans`. Then plot the result
# with `plot_clustering` (the centroids are in `kmeans.cluster_centers_`, the labels in `kmeans.labels_`).

# %% nbgrader={"grade": false, "grade_id": "kmeans_sklearn", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
kmeans = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)
### END SOLUTION

# %%
fig, ax = plt.subplots(figsize=(4, 4))
plot_clustering(ax, X, kmeans.labels_, kmeans.cluster_centers_, "scikit-learn KMeans, K = 3")
plt.show()

# %% nbgrader={"grade": true, "grade_id": "test_kmeans_sklearn", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 3). More checks run when the notebook is graded.
assert isinstance(kmeans, KMeans), f"kmeans should be a fitted sklearn KMeans, got {type(kmeans).__name__}"
assert hasattr(kmeans, "cluster_centers_"), "kmeans has not been fitted: call kmeans.fit(X)"
assert kmeans.cluster_centers_.shape == (3, 2), f"expected 3 centroids in 2-D, got shape {kmeans.cluster_centers_.shape}"
print("kmeans: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("kmeans_sklearn", kmeans)
### END HIDDEN TESTS

# %% [markdown]
# ### 2.3 Choosing K with the elbow method
#
# Choosing $K$ is rarely obvious. For a given clustering we can measure how tight the clusters are by the sum of
# squared distances from the points to their centroids, $J$; scikit-learn's `KMeans.score(X)` returns $-J$
# (higher is better). $J$ always falls as $K$ grows (with $K = N$ it is 0), so we look for the smallest $K$ after
# which adding clusters gains little: the *elbow* of the curve.
#
# **Task 6.** For every $K$ from 1 to 10 (both included), fit `KMeans` to `X` and store `score(X)` in the array
# `elbow_scores` (length 10, `elbow_scores[0]` for $K = 1$). Plot the scores against $K$.

# %%
k_values = np.arange(1, 11)  # K = 1, ..., 10

# %% nbgrader={"grade": false, "grade_id": "elbow_scores", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
elbow_scores = np.array([KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).score(X) for k in k_values])

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(k_values, elbow_scores, "o-")
ax.set(xlabel="number of clusters K", ylabel="score = $-J$", title="Elbow plot", xticks=k_values)
plt.show()
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_elbow_scores", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 3). More checks run when the notebook is graded.
assert np.shape(elbow_scores) == (10,), f"expected one score for each K = 1..10, shape (10,), got {np.shape(elbow_scores)}"
assert np.all(np.asarray(elbow_scores) <= 0), "KMeans.score returns minus the sum of squared distances: it is never positive"
print("elbow_scores: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("elbow_scores", elbow_scores)
### END HIDDEN TESTS

# %% [markdown]
# **Question 2.3.** Which $K$ would you choose for this data from the elbow plot, and why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_elbow_k", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# $K = 3$: the score rises steeply from 1 to 3 clusters and only slowly after that, so the curve bends at 3 —
# which matches the three components the data came from.
# ### END SOLUTION

# %% [markdown]
# ## 3. Expectation–Maximisation (EM)
#
# EM fits a mixture model, and can be read as a soft version of K-means. Two differences matter:
#
# * K-means gives each point to **one** cluster. EM keeps a **distribution** over clusters for each point: its
#   *responsibilities* $\gamma_{ik} = p(z_i = k \mid x_i, \theta)$.
# * K-means measures plain Euclidean distance to the centroids. A GMM knows each component's covariance, so a point
#   far from a mean can still be likely if that component is spread out in that direction.
#
# We want the parameters $\theta = \{\phi_k, \mu_k, \Sigma_k\}_{k=1}^{K}$ that maximise the likelihood
# $p(X \mid \theta) = \prod_i \sum_k \phi_k \mathcal{N}(x_i \mid \mu_k, \Sigma_k)$. This is a chicken-and-egg
# problem: knowing the responsibilities, fitting each Gaussian is easy (a weighted mean and covariance); knowing
# the parameters, the responsibilities follow from Bayes' rule. EM alternates the two:
#
# 1. Initialise $\theta$ (at random, or from K-means).
# 2. **E-step:** compute the responsibilities from the current $\theta$.
# 3. **M-step:** re-estimate $\theta$ from the responsibilities.
# 4. Repeat 2–3 until the log-likelihood stops improving.
#
# Every round can only raise (or keep) the log-likelihood — but, like K-means, EM may stop in a local maximum.
# See Bishop §9.2–9.4.

# %% [markdown]
# ### 3.1 EM on our data with scikit-learn
#
# The helpers below draw a fitted mixture: the log-density contours of the whole mixture, or each component's
# 1σ, 2σ and 3σ contours. They evaluate on a 200×200 grid, which is plenty for a picture.

# %% nbgrader={"grade": false, "grade_id": "em_plot_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def evaluation_grid(X, resolution=200, margin=2.0):
    """A regular grid covering the data: returns (xx, yy, grid_points) with grid_points of shape (resolution**2, 2)."""
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_gmm_density(ax, X, gmm):
    """Contours of the fitted mixture's log-density over the data."""
    xx, yy, grid = evaluation_grid(X)
    log_density = gmm.score_samples(grid).reshape(xx.shape)
    ax.scatter(X[:, 0], X[:, 1], s=8, c="tab:blue", alpha=0.6)
    ax.contour(xx, yy, log_density, levels=np.linspace(log_density.max() - 12, log_density.max(), 13), cmap="viridis")
    ax.set_aspect("equal")


COMPONENT_COLOURS = ["tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink"]


def plot_gmm_components(ax, X, means, covariances, title=""):
    """Each component's 1, 2 and 3 standard-deviation contours (Mahalanobis distance), one colour per component."""
    xx, yy, grid = evaluation_grid(X)
    ax.scatter(X[:, 0], X[:, 1], s=8, c="tab:blue", alpha=0.4)
    for k, (mean, covariance) in enumerate(zip(means, covariances)):
        centred = grid - mean
        squared_mahalanobis = np.einsum("ni,ij,nj->n", centred, np.linalg.inv(covariance), centred).reshape(xx.shape)
        ax.contour(xx, yy, squared_mahalanobis, levels=[1, 4, 9], colors=COMPONENT_COLOURS[k % len(COMPONENT_COLOURS)])
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")


# %% [markdown]
# `GaussianMixture.fit` runs EM. Created with `max_iter=10` and `warm_start=True`, each call to `fit` runs at most
# 10 EM iterations, starting from where the previous call stopped, so calling it in a loop lets us watch EM
# progress ten iterations at a time. `init_params="random"` starts from random responsibilities.
#
# **Task 7.** Write the loop: call `gmm.fit(X)` repeatedly, after each call append
# `(gmm.weights_.copy(), gmm.means_.copy(), gmm.covariances_.copy())` to `em_snapshots` and print the estimated
# means; stop as soon as `gmm.converged_` is true (and after at most 100 rounds, so a mistake cannot loop forever).
#
# Every unfinished round makes scikit-learn warn that EM has not converged yet: here that is expected, so silence
# `ConvergenceWarning` inside `warnings.catch_warnings()`.

# %%
gmm = GaussianMixture(n_components=3, max_iter=10, warm_start=True, init_params="random", tol=1e-8, random_state=2)
em_snapshots = []  # (weights, means, covariances) after each round of 10 EM iterations

# %% nbgrader={"grade": false, "grade_id": "em_loop", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for em_round in range(1, 101):
        gmm.fit(X)
        em_snapshots.append((gmm.weights_.copy(), gmm.means_.copy(), gmm.covariances_.copy()))
        print(f"round {em_round}: means {np.round(gmm.means_, 2).tolist()}")
        if gmm.converged_:
            print(f"converged after {em_round} rounds")
            break
### END SOLUTION

# %%
n_panels = min(len(em_snapshots), 4)
fig, axes = plt.subplots(1, n_panels + 1, figsize=(3.2 * (n_panels + 1), 3.4), squeeze=False)
for ax, round_index in zip(axes[0], np.linspace(0, len(em_snapshots) - 1, n_panels).astype(int)):
    _, snapshot_means, snapshot_covariances = em_snapshots[round_index]
    plot_gmm_components(ax, X, snapshot_means, snapshot_covariances, f"after round {round_index + 1}")
plot_gmm_density(axes[0, -1], X, gmm)
axes[0, -1].set_title("fitted mixture density", fontsize=10)
fig.tight_layout()
plt.show()
print("estimated weights:", np.round(gmm.weights_, 3))
print("estimated means:\n", np.round(gmm.means_, 2))

# %% nbgrader={"grade": true, "grade_id": "test_em_convergence", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 4). More checks run when the notebook is graded.
assert isinstance(gmm, GaussianMixture), f"gmm should be a GaussianMixture, got {type(gmm).__name__}"
assert getattr(gmm, "converged_", False), "gmm has not converged: keep calling gmm.fit(X) until gmm.converged_ is True"
assert len(em_snapshots) >= 1, "em_snapshots is empty: append a snapshot after every call to fit"
print("EM loop: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("em_convergence", gmm, em_snapshots)
### END HIDDEN TESTS

# %% [markdown]
# Compare the estimates with the true parameters of §1.1. With `init_params="random"` some random starts end in a
# poorer local maximum (one component covering two clouds, another almost empty): try `random_state=3` to see it happen.

# %% [markdown]
# ### 3.2 Using the fitted model to generate new data
#
# A fitted mixture is a *generative* model: we can draw new data from it, or use it to fill in missing values.
# K-means has no such model of the data.
#
# **Task 8.** Draw 10,000 new points from the fitted `gmm` with its `sample` method, store them in `X_new` and
# their components in `z_new`, and make a scatter plot (small, transparent markers help).

# %% nbgrader={"grade": false, "grade_id": "new_samples", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
X_new, z_new = gmm.sample(10000)

fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(X_new[:, 0], X_new[:, 1], c=z_new, s=2, alpha=0.3, cmap="viridis")
ax.set(title="10,000 points sampled from the fitted mixture", xlabel="$x_1$", ylabel="$x_2$")
ax.set_aspect("equal")
plt.show()
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_gmm_new_samples", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 3). More checks run when the notebook is graded.
assert np.shape(X_new) == (10000, 2), f"expected 10,000 points in 2-D, got shape {np.shape(X_new)}"
assert np.shape(z_new) == (10000,), f"expected 10,000 component labels, got shape {np.shape(z_new)}"
print("new samples: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("new_samples", X_new, z_new, gmm)
### END HIDDEN TESTS

# %% [markdown]
# ### 3.3 EM from scratch
#
# Now write the two steps of EM yourself for a mixture of $K$ full-covariance Gaussians.
#
# **E-step.** With the current parameters, the responsibility of component $k$ for point $i$ is
# $$\gamma_{ik} = \frac{\phi_k \,\mathcal{N}(x_i \mid \mu_k, \Sigma_k)}{\sum_{j=1}^{K} \phi_j \,\mathcal{N}(x_i \mid \mu_j, \Sigma_j)} .$$
# Each row of $\gamma$ sums to 1.
#
# **M-step.** With $N_k = \sum_i \gamma_{ik}$ (the "effective number" of points in component $k$):
# $$\phi_k = \frac{N_k}{N}, \qquad
# \mu_k = \frac{1}{N_k}\sum_{i} \gamma_{ik}\, x_i, \qquad
# \Sigma_k = \frac{1}{N_k}\sum_{i} \gamma_{ik}\,(x_i - \mu_k)(x_i - \mu_k)^\top .$$
#
# **Task 9.** Write `e_step(X, weights, means, covariances)` returning the `(N, K)` array of responsibilities.
# `weights` has shape `(K,)`, `means` `(K, d)`, `covariances` `(K, d, d)`.
# *Tip:* far from every component the densities underflow to 0 and the ratio becomes `0/0`; working with
# logarithms (`multivariate_normal(...).logpdf`, `scipy.special.logsumexp`) avoids that.

# %% nbgrader={"grade": false, "grade_id": "e_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def e_step(X, weights, means, covariances):
    """Responsibilities gamma[i, k] = p(z_i = k | x_i): shape (N, K), every row sums to 1."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    log_joint = np.column_stack([
        np.log(weight) + multivariate_normal(mean, covariance).logpdf(X).reshape(len(X))
        for weight, mean, covariance in zip(weights, means, covariances)
    ])  # log(phi_k) + log N(x_i | mu_k, Sigma_k), shape (N, K)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_e_step_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Quick checks (2 points). More checks run when the notebook is graded.
responsibilities = e_step(X, np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]), np.array([np.eye(2), np.eye(2)]))
assert np.shape(responsibilities) == (len(X), 2), f"expected shape ({len(X)}, 2), got {np.shape(responsibilities)}"
assert np.allclose(np.sum(responsibilities, axis=1), 1), "every row of the responsibilities should sum to 1"
point_at_first_mean = e_step(np.array([[0.0, 0.0]]), np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]),
                             np.array([np.eye(2), np.eye(2)]))
assert point_at_first_mean[0, 0] > 0.99, f"a point at the first mean should belong to it, got {np.round(point_at_first_mean, 3)}"
print("e_step: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("e_step_visible", e_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_e_step_shape_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (2 points): shape and type for other N, K and d
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("e_step_shape", e_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_e_step_values_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): values against a reference on random mixtures
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("e_step_values", e_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_e_step_hard_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): points far from every component, unequal weights, correlated covariances
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("e_step_hard", e_step)
### END HIDDEN TESTS

# %% [markdown]
# **Task 10.** Write `m_step(X, responsibilities)` returning `(weights, means, covariances)` with shapes
# `(K,)`, `(K, d)` and `(K, d, d)`, by the formulas above (divide by $N_k$, not $N_k - 1$).

# %% nbgrader={"grade": false, "grade_id": "m_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def m_step(X, responsibilities):
    """Maximum-likelihood (weights, means, covariances) for the given responsibilities."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    responsibilities = np.asarray(responsibilities, dtype=float)
    effective_counts = responsibilities.sum(axis=0)  # N_k, shape (K,)
    weights = effective_counts / len(X)
    means = responsibilities.T @ X / effective_counts[:, None]
    covariances = np.empty((len(effective_counts), X.shape[1], X.shape[1]))
    for k in range(len(effective_counts)):
        centred = X - means[k]
        covariances[k] = (responsibilities[:, k, None] * centred).T @ centred / effective_counts[k]
    return weights, means, covariances
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_m_step_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Quick checks (2 points). More checks run when the notebook is graded.
hard_labels = np.eye(3)[z_true]  # responsibilities of exactly 0 or 1: the M-step must give per-component statistics
weights_check, means_check, covariances_check = m_step(X, hard_labels)
assert np.shape(weights_check) == (3,), f"weights: expected shape (3,), got {np.shape(weights_check)}"
assert np.shape(means_check) == (3, 2), f"means: expected shape (3, 2), got {np.shape(means_check)}"
assert np.shape(covariances_check) == (3, 2, 2), f"covariances: expected shape (3, 2, 2), got {np.shape(covariances_check)}"
assert np.isclose(np.sum(weights_check), 1), f"weights should sum to 1, got {np.sum(weights_check)}"
assert np.allclose(means_check[0], X[z_true == 0].mean(axis=0)), "with 0/1 responsibilities, means should be the plain means of each group"
print("m_step: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("m_step_visible", m_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_m_step_shape_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (2 points): shapes for other N, K and d
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("m_step_shape", m_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_m_step_values_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): weights, means and covariances against the formulas
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("m_step_values", m_step)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_m_step_hard_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests (3 points): soft responsibilities, unequal components, correlated data, higher dimensions
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("m_step_hard", m_step)
### END HIDDEN TESTS

# %% [markdown]
# The next cell runs your E- and M-steps from a start of three random data points (equal weights, the data's own
# covariance for every component) and records the log-likelihood
# $\log p(X\mid\theta) = \sum_i \log \sum_k \phi_k \mathcal{N}(x_i \mid \mu_k, \Sigma_k)$ after every iteration.
# It must never go down. Then it fits scikit-learn's `GaussianMixture` from **the same start**: both should reach
# the same answer.

# %% nbgrader={"grade": false, "grade_id": "em_from_scratch_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def gmm_log_likelihood(X, weights, means, covariances):
    """log p(X | theta) = sum_i log sum_k phi_k N(x_i | mu_k, Sigma_k)."""
    log_joint = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X) for w, m, c in zip(weights, means, covariances)])
    return float(logsumexp(log_joint, axis=1).sum())


def run_em(X, weights, means, covariances, max_iterations=500, tol=1e-8):
    """Alternate the student's e_step and m_step; returns the final parameters and the log-likelihood per iteration."""
    log_likelihoods = [gmm_log_likelihood(X, weights, means, covariances)]
    for _ in range(max_iterations):
        responsibilities = e_step(X, weights, means, covariances)
        weights, means, covariances = m_step(X, responsibilities)
        log_likelihoods.append(gmm_log_likelihood(X, weights, means, covariances))
        if abs(log_likelihoods[-1] - log_likelihoods[-2]) < tol * len(X):
            break
    return (weights, means, covariances), np.array(log_likelihoods)


# %%
K = 3
start_rng = np.random.default_rng(7)
initial_weights = np.full(K, 1 / K)
initial_means = X[start_rng.choice(len(X), size=K, replace=False)]
initial_covariances = np.array([np.cov(X, rowvar=False)] * K)

(em_weights, em_means, em_covariances), em_log_likelihoods = run_em(X, initial_weights, initial_means, initial_covariances)

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(em_log_likelihoods, ".-")
ax.set(xlabel="EM iteration", ylabel="log-likelihood", title="EM from scratch")
plt.show()

sklearn_gmm = GaussianMixture(n_components=K, weights_init=initial_weights, means_init=initial_means,
                              precisions_init=np.linalg.inv(initial_covariances), reg_covar=0.0,
                              tol=1e-10, max_iter=1000).fit(X)
print(f"iterations: ours {len(em_log_likelihoods) - 1}, scikit-learn {sklearn_gmm.n_iter_}")
print(f"log-likelihood per point: ours {em_log_likelihoods[-1] / len(X):.6f}, scikit-learn {sklearn_gmm.score(X):.6f}")
print("largest difference in the means:", np.abs(em_means - sklearn_gmm.means_).max())

# %% nbgrader={"grade": true, "grade_id": "test_em_from_scratch_hidden", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 4). More checks run when the notebook is graded.
assert "em_log_likelihoods" in globals(), "the EM run above did not finish: read its error (it calls your e_step and m_step)"
assert np.all(np.diff(em_log_likelihoods) > -1e-6), "the log-likelihood went down during EM: check both steps"
assert np.isclose(em_log_likelihoods[-1] / len(X), sklearn_gmm.score(X), atol=1e-3), "EM from scratch should reach the same log-likelihood as GaussianMixture from the same start"
print("EM from scratch: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("em_from_scratch", e_step, m_step)
### END HIDDEN TESTS

# %% [markdown]
# **Play with it.** Step through EM one iteration at a time: points are shaded by their responsibilities,
# ellipses show each component, and the log-likelihood curve climbs.

# %%
if SHOW_WIDGETS:
    from lab5_widgets import em_stepper

    display(em_stepper(X, e_step, m_step))

# %% [markdown]
# **Question 3.** Compare the EM fit with the K-means clustering of §2.2. Where do they disagree on this data, and
# why? What does EM give you that K-means does not?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_em_vs_kmeans", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# They mostly agree because the clouds are well separated; they differ near the boundaries between clouds,
# especially for the elongated, correlated component 2, where EM's boundaries follow the covariances while K-means
# uses straight perpendicular bisectors between centroids. EM gives soft responsibilities (uncertainty near the
# boundaries), estimates of each component's covariance and weight, a likelihood to compare models with, and a
# generative model we can sample from (§3.2).
# ### END SOLUTION

# %% [markdown]
# ## 4. Colour quantisation
#
# Clustering is useful beyond toy data. **Colour quantisation** reduces an image's palette to a few colours:
# treat every pixel as a point $(r, g, b)$ in 3-D, cluster the pixels into $K$ groups, and repaint each pixel
# with its cluster's centre (K-means) or its most responsible component's mean (EM).
#
# The image is `images/sunset.jpg`; you are welcome to load one of your own instead.

# %%
image = iio.imread("images/sunset.jpg")[..., :3]  # drop an alpha channel, if your own image has one
print(image.shape, image.dtype)
plt.figure(figsize=(7, 5))
plt.imshow(image)
plt.axis("off")
plt.show()

# %% [markdown]
# This image has over a quarter of a million pixels. Fitting a 20-component mixture to all of them is slow (about
# 18 s for this picture on a 2-core machine, and minutes for a detailed photograph), but the palette is just as good
# when we **fit on a random sample** of a few thousand pixels and then **predict** the cluster of every pixel, which
# takes under a second.
#
# **Task 11.** With $K = 20$, fit `KMeans` and `GaussianMixture` to `pixel_sample`, predict the cluster of every
# pixel in `pixels`, and build the two quantised images `quantised_kmeans` and `quantised_em`: same shape as `image`,
# dtype `np.uint8` (`array.round().astype(np.uint8)`), each pixel replaced by its cluster's centre or mean.

# %%
K_colours = 20
pixels = image.reshape(-1, 3).astype(float)  # one row (r, g, b) per pixel
pixel_sample = pixels[np.random.default_rng(0).choice(len(pixels), size=5000, replace=False)]

# %% nbgrader={"grade": false, "grade_id": "quantisation", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
colour_kmeans = KMeans(n_clusters=K_colours, n_init=3, random_state=0).fit(pixel_sample)
quantised_kmeans = colour_kmeans.cluster_centers_[colour_kmeans.predict(pixels)].reshape(image.shape)
quantised_kmeans = quantised_kmeans.round().astype(np.uint8)

colour_gmm = GaussianMixture(n_components=K_colours, random_state=0).fit(pixel_sample)
quantised_em = colour_gmm.means_[colour_gmm.predict(pixels)].reshape(image.shape).round().astype(np.uint8)
### END SOLUTION

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
for ax, picture, title in zip(axes, [image, quantised_kmeans, quantised_em],
                              ["original", f"K-means, {K_colours} colours", f"EM, {K_colours} colours"]):
    ax.imshow(picture)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
print("image:", image.shape, "quantised:", quantised_kmeans.shape, quantised_em.shape)

# %% nbgrader={"grade": true, "grade_id": "test_quantised_images", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Quick checks (1 point of 4). More checks run when the notebook is graded.
for name, quantised in [("quantised_kmeans", quantised_kmeans), ("quantised_em", quantised_em)]:
    assert np.shape(quantised) == image.shape, f"{name} should have the image's shape {image.shape}, got {np.shape(quantised)}"
    assert np.asarray(quantised).dtype == np.uint8, f"{name} should have dtype uint8 for plt.imshow, got {np.asarray(quantised).dtype}"
print("quantised images: quick checks passed")
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("quantised_images", image, quantised_kmeans, quantised_em)
### END HIDDEN TESTS

# %% [markdown]
# **Play with it.** Change $K$ and switch between K-means and EM to see how the palette and the banding in the sky
# change.

# %%
if SHOW_WIDGETS:
    from lab5_widgets import quantisation_explorer

    display(quantisation_explorer(image))

# %% [markdown]
# ## Wrap-up
#
# * **Mixture models** build complex distributions out of simple ones; a GMM is sampled ancestrally, label first.
# * **K-means** alternates hard assignments and centroid updates; it always stops, but in a local minimum that
#   depends on the start, and its straight boundaries ignore the shape of the clusters.
# * **EM** alternates soft assignments (responsibilities) and maximum-likelihood updates; the log-likelihood never
#   goes down, and the fitted mixture is a generative model.
# * Both give a way to **quantise colours**: fit on a sample, predict every pixel.
#
# ## References
#
# * COMS30035 Machine Learning, lecture notes on mixture models and EM.
# * C. M. Bishop, *Pattern Recognition and Machine Learning* (2006): §9.1 K-means clustering; §9.2 mixtures of
#   Gaussians; §9.3 an alternative view of EM; §9.4 the EM algorithm in general.
# * scikit-learn user guide: [clustering](https://scikit-learn.org/stable/modules/clustering.html#k-means) and
#   [Gaussian mixture models](https://scikit-learn.org/stable/modules/mixture.html).

# %% nbgrader={"grade": true, "grade_id": "test_quick_checks_summary", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": false}
# Summary of the quick checks above (0 points). Validate lists this cell as
# failed so that you can read it; it costs nothing. More checks run when graded.
from lab5_quick_checks import summarise_quick_checks
summarise_quick_checks()
### BEGIN HIDDEN TESTS
import lab5_grader; lab5_grader.check("quick_checks_summary")
### END HIDDEN TESTS
