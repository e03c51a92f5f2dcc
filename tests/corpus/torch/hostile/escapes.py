"""A submission that tries to leave its worker, for tests/test_torch_worker.py: each function is called
alike by a worker that preloaded torch ("torch_call") and by one that did not ("call"). No torch at the top:
the worker without torch must import it too."""


def read_passwd(x):
    with open("/etc/passwd") as secrets:
        return secrets.read()


def open_socket(x):
    import socket

    return socket.socket(socket.AF_INET, socket.SOCK_STREAM).fileno()


def allocate_huge(x):
    import torch

    return torch.empty(2 ** 35, dtype=torch.float64)  # 256 GiB


def allocate_huge_numpy(x):
    import numpy

    return numpy.empty(2 ** 35)


def threads(x):
    import torch

    return torch.tensor([torch.get_num_threads(), torch.get_num_interop_threads()])


def fails(x):
    raise ValueError("a message of the student's own")


def stub(x):
    raise NotImplementedError
