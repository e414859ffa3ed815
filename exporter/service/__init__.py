"""The photo-to-avatar service behind ``lam-serve``'s upload API (docs/service.md).

* :mod:`.limits`: every limit the service enforces (request size, pixels, queue length, time per job,
  retention), with their defaults;
* :mod:`.upload`: checking an uploaded photo before it is queued (the client's name never becomes a path);
* :mod:`.export_job`: one export (the photo pipeline with stages and progress), shared by every backend;
* :mod:`.local_queue`: the default backend, a bounded pool of threads in the server process;
* :mod:`.redis_queue`: the same jobs on RQ (Redis), run by ``lam-serve --worker`` on any number of machines;
* :mod:`.api`: the Flask routes ``POST /api/avatars``, ``GET /api/avatars/<id>``, ``GET /api/avatars/<id>.lam``;
* :mod:`.client`: a standard-library client of that API (tests, the load benchmark, scripts);
* :mod:`.redis_local`: a throw-away ``redis-server`` on loopback (the Redis test and benchmark).
"""

from .limits import Limits

__all__ = ["Limits"]
