"""The web layer: the Falcon app factory, middleware, error mapping, rendering and process wiring.

This package (with resources/) may import Falcon and gevent; app/ (the core) and db/ never import it.
"""
