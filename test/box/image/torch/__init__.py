# The box image's stand-in `torch`: a ROCm build (torch.version.hip set, version from the image's
# SIR_CONVERT_A_LOT_TORCH_VERSION build arg) whose GPU is available only when /dev/kfd and a DRM
# render node really open in this container; like the real runtime it keeps /dev/kfd open while
# initialised, so the host's rocm-smi sees the process.
import glob
import os

__version__ = open(os.path.join(os.path.dirname(__file__), "VERSION")).read().strip()


class _Version:
    hip = "7.1.25424" if "+rocm" in __version__ else None
    cuda = None


version = _Version()
_held = []


def _open(path):
    try:
        return os.open(path, os.O_RDWR)
    except OSError:
        return None


def _init():
    if _held:
        return True
    kfd = _open("/dev/kfd")
    if kfd is None:
        return False
    for node in sorted(glob.glob("/dev/dri/renderD*")):
        render = _open(node)
        if render is not None:
            _held.extend([kfd, render])
            return True
    os.close(kfd)
    return False


class _Cuda:
    def is_available(self):
        return _init()

    def device_count(self):
        return 1 if _init() else 0

    def get_device_name(self, index=0):
        if not _init():
            raise RuntimeError("No HIP GPUs are available")
        return "AMD Radeon RX 7900 XTX (box stand-in)"


cuda = _Cuda()
