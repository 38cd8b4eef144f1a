#!/bin/sh
# capflow across machines without a cluster: GNU parallel hands shard K of N to whichever host is
# free, over ssh. Every host has capflow installed and sees the captures at the same path (NFS,
# an object-store mount); each capflow uses all cores of its host (--jobs defaults to them).
#
#   HOSTS=alpha,beta,gamma SHARDS=6 CAPTURES=/srv/captures ./parallel-ssh.sh
#
# HOSTS=: runs every shard on this machine (GNU parallel's name for the local host).
set -eu
HOSTS=${HOSTS:-:}
SHARDS=${SHARDS:-4}
CAPTURES=${CAPTURES:-/srv/captures}

# The glob is quoted here so that it is expanded on the remote host; {} is the shard number.
seq 0 $((SHARDS - 1)) | parallel --sshlogin "$HOSTS" --jobs 1 --halt never \
  "capflow run '$CAPTURES'/in/*.pcap* --out-dir '$CAPTURES/out' --root '$CAPTURES/in' --shard {}/$SHARDS --skip-existing --no-progress --summary '$CAPTURES/out/summary-{}.json'" \
  || echo "some shards failed: their summaries list the files (\"failed\")" >&2
capflow merge-summaries "$CAPTURES"/out/summary-*.json > "$CAPTURES/out/summary.json"
