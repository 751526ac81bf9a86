package dev.tfmq.strategies.bias;

import dev.tfmq.strategies.quant.FloatAccess;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Per-channel sums of a layer's output, in double, over every element of every batch added. The channel axis is
 * axis 1 of a channel-first tensor ([N, C], [B, C, T], [B, C, H, W]) or the last axis of a channels-last one
 * ([B, H, W, C], attention projections [B·T, C]); the two agree for [N, C].
 */
final class ChannelMoments {
    private final double[] sum;
    private final double[] sumSq;
    private long perChannel;

    ChannelMoments(int channels) {
        if (channels < 1) throw new IllegalArgumentException("a layer output needs at least one channel, got " + channels);
        sum = new double[channels];
        sumSq = new double[channels];
    }

    int channels() { return sum.length; }

    /** Elements added per channel so far. */
    long count() { return perChannel; }

    void add(INDArray y, boolean channelsLast) {
        int c = sum.length;
        long axisSize = channelsLast || y.rank() == 2 ? y.size(y.rank() - 1) : y.size(1);
        if (y.rank() < 2 || axisSize != c) {
            throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(y.shape()) + " has no "
                    + c + "-channel axis (" + (channelsLast ? "channels-last" : "channel-first") + ")");
        }
        FloatAccess f = FloatAccess.of(FloatAccess.isContiguousC(y) ? y : y.dup('c'));
        long n = f.length();
        if (channelsLast || y.rank() == 2) {
            for (long i = 0; i < n; i += c) {
                for (int ch = 0; ch < c; ch++) {
                    double v = f.get(i + ch);
                    sum[ch] += v;
                    sumSq[ch] += v * v;
                }
            }
        } else {
            long inner = n / (y.size(0) * c);
            long i = 0;
            for (long b = 0; b < y.size(0); b++) {
                for (int ch = 0; ch < c; ch++) {
                    double s = 0, s2 = 0;
                    for (long k = 0; k < inner; k++, i++) {
                        double v = f.get(i);
                        s += v;
                        s2 += v * v;
                    }
                    sum[ch] += s;
                    sumSq[ch] += s2;
                }
            }
        }
        perChannel += n / c;
    }

    /** Adds another accumulator's sums (same channel count). */
    void merge(ChannelMoments o) {
        if (o.sum.length != sum.length) throw new IllegalArgumentException(o.sum.length + " channels merged into " + sum.length);
        for (int ch = 0; ch < sum.length; ch++) {
            sum[ch] += o.sum[ch];
            sumSq[ch] += o.sumSq[ch];
        }
        perChannel += o.perChannel;
    }

    double[] means() {
        requireData();
        double[] m = new double[sum.length];
        for (int ch = 0; ch < m.length; ch++) m[ch] = sum[ch] / perChannel;
        return m;
    }

    /** Population standard deviation per channel. */
    double[] stds() {
        requireData();
        double[] s = new double[sum.length];
        for (int ch = 0; ch < s.length; ch++) {
            double mean = sum[ch] / perChannel;
            s[ch] = Math.sqrt(Math.max(0, sumSq[ch] / perChannel - mean * mean));
        }
        return s;
    }

    private void requireData() {
        if (perChannel == 0) throw new IllegalStateException("no data was added to these channel moments");
    }
}
