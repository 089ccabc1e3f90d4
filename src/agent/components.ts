/** Every agent input registers itself on import; this is the one list of them. */
import './files/index.ts';
import './windows/input.ts';
import './evtx/input.ts';
import './journald/index.ts';
