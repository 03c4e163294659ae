"""The GUI thread's torch work stays on one OpenMP thread without taking the worker's."""

import threading

import torch

from vae_explorer.gui.cpu_threads import use_one_cpu_thread_in_this_thread


def test_gui_thread_limit_is_per_thread():
    before = torch.get_num_threads()
    seen = {}
    try:
        if not use_one_cpu_thread_in_this_thread():
            return  # not an OpenMP build: nothing to check
        assert torch.get_num_threads() == 1

        def worker():
            torch.set_num_threads(2)
            seen["worker"] = torch.get_num_threads()

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert seen["worker"] == 2
        assert torch.get_num_threads() == 1  # the worker's setting did not reach this thread
    finally:
        torch.set_num_threads(before)
