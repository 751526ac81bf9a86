package dev.tfmq.harness.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-time-step disturbance accumulated over all committed batches: sums and counts per sampling step k, so means
 * are exact under merging (a partial table of one batch is {@link #add}ed to the run's table at commit). Pure data
 * with a public {@link State} for checkpoints and messages.
 */
public final class DisturbanceTable {
    /** Serialisable contents; arrays indexed by step k, member arrays by [member][k]. */
    public record State(long[] timesteps, List<String> members, long[] samples, double[] epsSum, double[] epsMax,
                        double[] trajSum, long[] probes, double[] oneStepSum, long[] observations,
                        double[][] temporalRelSum, double[][] temporalCosSum) {}

    private final long[] timesteps;
    private final List<String> members;
    private final long[] samples;
    private final double[] epsSum, epsMax, trajSum, oneStepSum;
    private final long[] probes, observations;
    private final double[][] relSum, cosSum;

    public DisturbanceTable(long[] timesteps, List<String> members) {
        this.timesteps = timesteps.clone();
        this.members = List.copyOf(members);
        int s = timesteps.length;
        samples = new long[s];
        epsSum = new double[s];
        epsMax = new double[s];
        trajSum = new double[s];
        oneStepSum = new double[s];
        probes = new long[s];
        observations = new long[s];
        relSum = new double[members.size()][s];
        cosSum = new double[members.size()][s];
    }

    public static DisturbanceTable of(State st) {
        DisturbanceTable t = new DisturbanceTable(st.timesteps(), st.members());
        t.addState(st);
        return t;
    }

    public int steps() { return timesteps.length; }

    public List<String> members() { return members; }

    public long[] timesteps() { return timesteps.clone(); }

    /** Adds the measures of step k of one batch. */
    public void record(int k, StepMeasures m) {
        for (double v : m.epsRelL2()) {
            epsSum[k] += v;
            epsMax[k] = Math.max(epsMax[k], v);
        }
        for (double v : m.trajectoryRms()) trajSum[k] += v;
        samples[k] += m.epsRelL2().length;
        for (double v : m.oneStepRelL2()) oneStepSum[k] += v;
        probes[k] += m.oneStepRelL2().length;
        observations[k]++;
        for (int j = 0; j < members.size(); j++) {
            Double r = m.temporalRelL2().get(members.get(j));
            Double c = m.temporalCosine().get(members.get(j));
            if (r == null || c == null) throw new IllegalArgumentException("no temporal measure for TIB member '" + members.get(j) + "'");
            relSum[j][k] += r;
            cosSum[j][k] += c;
        }
    }

    /** Folds another table (same steps and members) into this one. */
    public void add(DisturbanceTable other) {
        addState(other.state());
    }

    private void addState(State o) {
        if (!Arrays.equals(o.timesteps(), timesteps) || !o.members().equals(members)) {
            throw new IllegalArgumentException("disturbance tables differ in time-steps or TIB members");
        }
        for (int k = 0; k < timesteps.length; k++) {
            samples[k] += o.samples()[k];
            epsSum[k] += o.epsSum()[k];
            epsMax[k] = Math.max(epsMax[k], o.epsMax()[k]);
            trajSum[k] += o.trajSum()[k];
            probes[k] += o.probes()[k];
            oneStepSum[k] += o.oneStepSum()[k];
            observations[k] += o.observations()[k];
            for (int j = 0; j < members.size(); j++) {
                relSum[j][k] += o.temporalRelSum()[j][k];
                cosSum[j][k] += o.temporalCosSum()[j][k];
            }
        }
    }

    public State state() {
        return new State(timesteps.clone(), members, samples.clone(), epsSum.clone(), epsMax.clone(), trajSum.clone(),
                probes.clone(), oneStepSum.clone(), observations.clone(), deep(relSum), deep(cosSum));
    }

    private static double[][] deep(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
        return c;
    }

    private static double div(double s, long n) { return n == 0 ? Double.NaN : s / n; }

    public double epsMean(int k) { return div(epsSum[k], samples[k]); }
    public double trajectoryMean(int k) { return div(trajSum[k], samples[k]); }
    public double oneStepMean(int k) { return div(oneStepSum[k], probes[k]); }
    public double temporalRel(int member, int k) { return div(relSum[member][k], observations[k]); }
    public double temporalCos(int member, int k) { return div(cosSum[member][k], observations[k]); }

    /** Per-member summary over steps: mean and max over time-steps of the mean relative L2, mean cosine distance. */
    public Map<String, Map<String, Double>> perMember() {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (int j = 0; j < members.size(); j++) {
            double sum = 0, max = 0, cs = 0;
            int n = 0;
            for (int k = 0; k < steps(); k++) {
                if (observations[k] == 0) continue;
                double r = temporalRel(j, k);
                sum += r;
                max = Math.max(max, r);
                cs += temporalCos(j, k);
                n++;
            }
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("mean_rel_l2", n == 0 ? Double.NaN : sum / n);
            m.put("max_rel_l2", n == 0 ? Double.NaN : max);
            m.put("mean_cosine_distance", n == 0 ? Double.NaN : cs / n);
            out.put(members.get(j), m);
        }
        return out;
    }

    /** Means over all steps and samples. */
    public Map<String, Double> overall() {
        double e = 0, t = 0, o = 0, r = 0;
        long n = 0, p = 0, obs = 0;
        for (int k = 0; k < steps(); k++) {
            e += epsSum[k];
            t += trajSum[k];
            n += samples[k];
            o += oneStepSum[k];
            p += probes[k];
            for (int j = 0; j < members.size(); j++) r += relSum[j][k];
            obs += observations[k] * members.size();
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("eps_rel_l2", div(e, n));
        m.put("trajectory_rms", div(t, n));
        m.put("one_step_rel_l2", div(o, p));
        m.put("temporal_rel_l2", div(r, obs));
        m.put("final_trajectory_rms", steps() == 0 ? Double.NaN : trajectoryMean(steps() - 1));
        return m;
    }

    /** One row per step: step, timestep, samples, eps, trajectory, one-step, then rel-L2 and cosine per member. */
    public String toCsv() {
        StringBuilder sb = new StringBuilder("step,timestep,samples,eps_rel_l2,eps_rel_l2_max,trajectory_rms,probe_samples,one_step_rel_l2");
        for (String m : members) sb.append(',').append(m).append(":rel_l2");
        for (String m : members) sb.append(',').append(m).append(":cosine_distance");
        sb.append('\n');
        for (int k = 0; k < steps(); k++) {
            sb.append(k).append(',').append(timesteps[k]).append(',').append(samples[k]).append(',').append(num(epsMean(k)))
                    .append(',').append(num(epsMax[k])).append(',').append(num(trajectoryMean(k))).append(',')
                    .append(probes[k]).append(',').append(num(oneStepMean(k)));
            for (int j = 0; j < members.size(); j++) sb.append(',').append(num(temporalRel(j, k)));
            for (int j = 0; j < members.size(); j++) sb.append(',').append(num(temporalCos(j, k)));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Heatmap rows by member, columns by step (relative L2); NaN where nothing was observed. */
    public List<double[]> heatmap() {
        List<double[]> rows = new ArrayList<>();
        for (int j = 0; j < members.size(); j++) {
            double[] r = new double[steps()];
            for (int k = 0; k < steps(); k++) r[k] = temporalRel(j, k);
            rows.add(r);
        }
        return rows;
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.9g", v);
    }
}
