"""Interactive widgets for lab 5: play with a Gaussian mixture, K-means, EM and colour quantisation.

Use them from the lab notebook::

    from lab5_widgets import gmm_explorer, kmeans_stepper, em_stepper, quantisation_explorer
    display(gmm_explorer(sample_gmm, category_prob, means, covariance_matrices))
    display(kmeans_stepper(X, get_cluster_assignments, get_cluster_centroids))
    display(em_stepper(X, e_step, m_step))
    display(quantisation_explorer(image))

Each factory returns an ipywidgets box. The widgets call *your* functions from the lab. While one
of them is unfinished (it raises ``NotImplementedError``) or returns something of the wrong shape,
the widget says so in a note and uses a library routine (NumPy / SciPy / scikit-learn) instead, so
the pictures always work.

Plots are rendered by matplotlib (Agg) into PNG images shown by ``ipywidgets.Image``: no extra
Jupyter extension is needed. Each widget keeps one figure and only updates its artists when a
control changes, so a redraw stays fast.

What lives where:

* ``gmm.py``: the GMM explorer (sliders for each component, samples from your ``sample_gmm``);
* ``steppers.py``: the K-means and EM steppers (step or play through the algorithm);
* ``quantisation.py``: the colour-quantisation explorer;
* ``common.py``: what they share: colours, checking your functions' results against the
  course contract, the library fallbacks, and rendering figures to PNG.
"""
from .gmm import gmm_explorer
from .quantisation import quantisation_explorer
from .steppers import em_stepper, kmeans_stepper

__all__ = ["gmm_explorer", "kmeans_stepper", "em_stepper", "quantisation_explorer"]
