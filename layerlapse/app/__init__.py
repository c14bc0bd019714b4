"""The application layer: what a user asks for, resolved once and carried out.

``request`` resolves a scene-like argument, a style and the network keywords once;
``network`` trains, loads or converts the network and builds the deformation; ``api``
is the public surface (re-exported by :mod:`layerlapse`), its verbs living in ``movie``,
``stills``, ``views`` and ``certify``. ``presets`` and ``scenefile`` define scenes;
``report`` and ``trajectory`` write a certificate's and a deformation's files.
"""
