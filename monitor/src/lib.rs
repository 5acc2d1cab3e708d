//! QMP and HMP monitors: the event loop, chardevs, the QMP protocol, HMP readline and the mux.
