"""LSL acquisition, outlets, HDF5 recording, replay and the simulated headset (installed as
``eegaffect.acquisition``). Imports only pylsl, numpy, h5py and ``eegaffect.kernels``.
"""
