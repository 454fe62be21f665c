# alternate base/main processes; print the K rows' step ratio
HERE=$(cd "$(dirname "$0")" && pwd)
rounds=$1; shift
for r in $(seq $rounds); do
  for t in base main; do
    printf "%s r%s: " $t $r; (cd /work/$t && PYTHONPATH=src python "$HERE/kdep.py" "$@" 2>&1 | grep step | awk '{printf "%s %s %s  ", $1, $3, $5}'); echo
  done
done
