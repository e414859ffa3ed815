"""Reading the photo (load, MediaPipe's face and pose landmarks, the person mask) beside torch's import.

``lam-export`` spends ~2 s importing torch and the reconstruction, and ~1.5 s importing MediaPipe and
finding the face; neither needs the other. :class:`PhotoRead` forks a child that reads the photo
while the parent goes on importing, and :meth:`PhotoRead.result` collects the :class:`PhotoInput` (and the
child's stage times). On 2 cores this takes ~1.5 s off the whole export.

The child is forked only while it is safe and useful (:func:`can_fork`): on Linux, before torch or MediaPipe
is imported and with no other Python thread running. Otherwise (a server that has torch
loaded, the test suite, macOS, Windows) the photo is read in this process when the result is asked for, in
the same order as before. The child's results come back over a pipe as a pickle written by
this program's own child; nothing a user gives is unpickled. A user mistake in the child (not an image, no
face) is raised in the parent as the same one-line :class:`~lam_core.errors.LamError`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import traceback

from exporter.stages import StageTimer
from lam_core.errors import LamError


PHOTO_STAGES = ("read photo", "face landmarks", "person mask", "pose landmarks")  # what the child times


def read_photo(path: str | os.PathLike, name: str, torso: bool, timer=None, max_face_px: float | None = None):
    """Load ``path`` and gather what the reconstructors need from it (lam_core.photo.reading; ``max_face_px``:
    on a copy scaled down so the face is at most that tall)."""
    from lam_core.photo import load_photo
    from lam_core.photo.reading import read_photo_input

    timer = timer or (lambda stage: contextlib.nullcontext())
    with timer("read photo"):
        rgb = load_photo(path)
    return read_photo_input(rgb, name, timer, torso=torso, max_face_px=max_face_px)


def can_fork() -> bool:
    """Whether forking the photo's reader is safe and useful here: Linux, one Python thread, and neither
    torch (nothing would be left to overlap) nor MediaPipe loaded. Their native thread pools are what a
    fork must not copy mid-lock; numpy's OpenBLAS pool is fork-safe (it re-creates itself at pthread_atfork)."""
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and "torch" not in sys.modules and "mediapipe" not in sys.modules)


def _die_with_parent(parent: int) -> None:
    """Linux: have the kernel stop this child when its parent dies (even by SIGKILL or an abort)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that took hold
        os._exit(0)


def _child(read_end, conn, parent, path, name, torso, max_face_px) -> None:
    import signal

    read_end.close()  # only the parent reads: when it is gone, sending fails here instead of blocking
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops this child on the way out
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)
    times = StageTimer()  # the caller's log is the parent's: it hears of these stages when they come back
    try:
        message = ("ok", read_photo(path, name, torso, times, max_face_px), times.times)
    except LamError as exc:
        message = ("user", exc)
    except BaseException:  # a bug: its traceback goes to the parent
        message = ("bug", traceback.format_exc())
    with contextlib.suppress(OSError):  # the parent is gone: nobody is left to tell
        try:
            conn.send(message)
        except (TypeError, AttributeError, ValueError, RecursionError):  # something that does not pickle
            conn.send(("bug", traceback.format_exc()))
        finally:
            conn.close()


class PhotoRead:
    """A photo being read: in a forked child (``forked``) or, when asked for, in this process."""

    def __init__(self, path, name: str, torso: bool, fork: bool | None = None, max_face_px: float | None = None):
        self.path, self.name, self.torso, self.max_face_px = path, name, torso, max_face_px
        self._process = self._conn = None
        if not (can_fork() if fork is None else fork):
            return
        import multiprocessing
        import signal

        ctx = multiprocessing.get_context("fork")
        read_end, write_end = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(read_end, write_end, os.getpid(), path, name, torso, max_face_px),
                              daemon=True)
        # a Ctrl-C during the fork waits until both sides know their part (the child ignores it, this
        # process has the child in hand and stops it on the way out)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
            self._process, self._conn = process, read_end
        except OSError:  # no fork to be had (out of memory, process limit): read the photo here
            read_end.close()
        finally:
            write_end.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    @property
    def forked(self) -> bool:
        return self._process is not None

    def result(self, timer=None):
        """The PhotoInput. ``timer`` (a StageTimer) gets the stages' times, whichever process ran them."""
        if self._process is None:
            return read_photo(self.path, self.name, self.torso, timer, self.max_face_px)
        try:
            message = self._conn.recv()
        except (EOFError, OSError):  # the child died (killed, out of memory): read the photo here instead
            message = None
        finally:
            self.close()
        if message is None:
            return read_photo(self.path, self.name, self.torso, timer, self.max_face_px)
        kind, *rest = message
        if kind == "user":
            raise rest[0]
        if kind == "bug":
            raise RuntimeError(f"reading the photo failed in the child process:\n{rest[0]}")
        photo, times = rest
        if timer is not None:  # the child's stages, announced here (the caller's log runs in this process)
            for stage, seconds in times.items():
                timer.record(stage, seconds)
        return photo

    def close(self) -> None:
        """Stop the child (if still running) and release the pipe; safe to call twice."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._conn.close()
            self._process = self._conn = None
