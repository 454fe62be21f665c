# The paper protocol (150 epochs, batch 512, Adam, full MNIST) on the H200, 3 runs side by side.
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 LRLC_DATA_DIR=$PWD/.gpu-data
mkdir -p /tmp/paper
nvidia-smi -L > /tmp/paper/machine.txt
for spec in "conv" "coordconv" "lrlc3 --rank 4"; do
  name=${spec/ --rank /-}
  timeout 225 python3 -m lrlc.cli train --dataset mnist --model $spec --preset paper --device cuda \
    --out /tmp/paper/$name > /tmp/paper/$name.log 2>&1 &
done
wait
rm -f /tmp/paper/*/checkpoint.pt
tar -czf $OUT/paper.tar.gz -C /tmp paper
for f in /tmp/paper/*.log; do echo $f; tail -n 2 $f; done
