"""The offline web page: ``layerlapse web`` and :func:`layerlapse.app.api.web`.

:mod:`~layerlapse.web.data` computes (keyframes, quantisation, the decision's geometry);
:mod:`~layerlapse.web.page` assembles one self-contained HTML file from ``template.html``
and the vendored three.js in ``vendor/``.
"""
