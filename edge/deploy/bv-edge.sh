#!/bin/sh
# bv-edge, as installed by the bv-edge package: the agent on its Node runtime with the V8 flags
# it ships with (a small young generation; optimise for size: Pi-class memory).
exec @NODE@ @V8_FLAGS@ @APP@/dist/bin.js "$@"
