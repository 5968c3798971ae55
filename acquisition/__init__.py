"""LSL acquisition, outlets, HDF5 recording, reading recordings back, replay and the simulated headset (installed
as ``eegaffect.acquisition``). Imports only pylsl, numpy, h5py, pyxdf (inside the XDF reader) and
``eegaffect.kernels``.

Subpackages: :mod:`~eegaffect.acquisition.lsl` (streams in), :mod:`~eegaffect.acquisition.readers` (recordings
read back, one module per format), :mod:`~eegaffect.acquisition.sim` (the simulated headset). Modules: channel
sets and electrode positions (``channels``), outlets (``outlet``), the ring buffer (``ringbuffer``), the recorder
(``recorder``), the paced-pusher base (``pusher``) and the player (``player``).
"""
