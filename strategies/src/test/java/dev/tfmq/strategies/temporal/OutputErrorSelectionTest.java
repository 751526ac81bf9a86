package dev.tfmq.strategies.temporal;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The decision rules of selection by the output error: calibration-time per step, and the online settling rule. */
class OutputErrorSelectionTest {
    static final MaintenanceStrategy TIB = MaintenanceStrategy.TIB, CACHE = MaintenanceStrategy.CACHE;

    @Test
    void eachStepTakesTheCandidateWithTheSmallerMeanOutputErrorAndTiesGoToTheTib() {
        long[] ts = {900, 600, 300, 0};
        double[][] tib = {{0.01, 0.03}, {0.05, 0.05}, {0.25, 0.75}, {0.10, 0.20}};
        double[][] cache = {{0.03, 0.03}, {0.04, 0.05}, {0.5, 0.5}, {0.05, 0.05}};
        SelectionTable t = OutputErrorSelection.select(new OutputErrors(ts, tib, cache));
        assertEquals(SelectionMeasure.OUTPUT, t.measure());
        assertEquals(SelectionTable.Granularity.STEP, t.granularity());
        assertEquals(List.of(900L, 600L, 300L, 0L), List.copyOf(t.perTimestep().keySet()), "largest time-step first");
        assertEquals(TIB, t.strategy("any member", 900), "0.02 < 0.03");
        assertEquals(CACHE, t.strategy("any member", 600), "0.045 < 0.05");
        assertEquals(TIB, t.strategy("any member", 300), "a tie (0.5 = 0.5, exactly) goes to the TIB");
        assertEquals(CACHE, t.strategy("any member", 0));
        assertEquals(0.02, t.perTimestep().get(900L).tib(), 1e-15);
        assertEquals(0.03, t.perTimestep().get(900L).cache(), 1e-15);
        assertEquals(Map.of(TIB, 2, CACHE, 2), t.counts());
        assertThrows(IllegalStateException.class, () -> t.strategy("m", 450), "a time-step the table does not decide");
        assertThrows(IllegalArgumentException.class,
                () -> new OutputErrors(new long[] {1}, new double[][] {{0.1}}, new double[][] {{0.1, 0.2}}), "unpaired inputs");
    }

    @Test
    void pairedErrorsAreWelfordOfTheDifference() {
        PairedErrors e = new PairedErrors();
        double[] a = {0.5, 0.7, 0.2, 0.9, 0.4}, b = {0.4, 0.5, 0.3, 0.6, 0.1};
        for (int i = 0; i < a.length; i++) e.add(a[i], b[i]);
        double mean = 0;
        for (int i = 0; i < a.length; i++) mean += (a[i] - b[i]) / a.length;
        double ss = 0;
        for (int i = 0; i < a.length; i++) ss += Math.pow(a[i] - b[i] - mean, 2);
        assertEquals(5, e.n());
        assertEquals(mean, e.meanDifference(), 1e-15);
        assertEquals(ss / 4, e.variance(), 1e-15);
        assertEquals(0.54, e.meanTib(), 1e-15);
        assertEquals(0.38, e.meanCache(), 1e-15);
        assertEquals(1.959964 * Math.sqrt(ss / 4 / 5), e.halfWidth(new SettlingRule(2, 0.95).z()), 1e-7);
        PairedErrors back = new PairedErrors(e.state());
        assertEquals(e.state(), back.state(), "the checkpoint state restores every number");
    }

    private static OnlineOutputSelection oneStep(MaintenanceStrategy start, SettlingRule rule) {
        Map<Long, MaintenanceStrategy> init = new LinkedHashMap<>();
        init.put(500L, start);
        return new OnlineOutputSelection(init, rule);
    }

    @Test
    void aDifferenceInsideItsIntervalNeverFlips() {
        SettlingRule rule = new SettlingRule(8, 0.95);
        // the candidates alternate being better by the same amount: the mean difference is 0, inside every interval
        OnlineOutputSelection s = oneStep(CACHE, rule);
        for (int batch = 0; batch < 200; batch++) {
            s.observe(500, new double[] {0.05, 0.03, 0.05, 0.03}, new double[] {0.03, 0.05, 0.03, 0.05});
            assertEquals(List.of(), s.revise(), "batch " + batch);
        }
        assertEquals(CACHE, s.choice(500));
        // a small true difference buried in noise: the interval still holds zero after 400 samples
        Random r = new Random(1);
        OnlineOutputSelection noisy = oneStep(TIB, rule);
        for (int batch = 0; batch < 100; batch++) {
            double[] tib = new double[4], cache = new double[4];
            for (int i = 0; i < 4; i++) {
                double base = 0.05 + 0.01 * r.nextGaussian();
                tib[i] = base + 0.0001 + 0.02 * r.nextGaussian();
                cache[i] = base + 0.02 * r.nextGaussian();
            }
            noisy.observe(500, tib, cache);
            double[] ci = rule.interval(noisy.errors(500));
            if (noisy.errors(500).n() >= 8) assertTrue(ci[0] <= 0 && ci[1] >= 0, "this stream's interval holds zero");
            assertEquals(List.of(), noisy.revise());
        }
        assertEquals(TIB, noisy.choice(500));
    }

    @Test
    void aClearDifferenceFlipsExactlyOnceAndTheStepThenStaysSettled() {
        SettlingRule rule = new SettlingRule(16, 0.95);
        OnlineOutputSelection s = oneStep(TIB, rule);
        Random r = new Random(2);
        int flips = 0;
        long flippedAt = -1;
        for (int batch = 0; batch < 50; batch++) {
            double[] tib = new double[4], cache = new double[4];
            for (int i = 0; i < 4; i++) {
                double base = 0.05 + 0.01 * r.nextGaussian();
                tib[i] = base + 0.01 + 0.002 * r.nextGaussian();   // the cache is clearly better here
                cache[i] = base + 0.002 * r.nextGaussian();
            }
            s.observe(500, tib, cache);
            List<OnlineOutputSelection.Revision> rev = s.revise();
            if (!rev.isEmpty()) {
                flips += rev.size();
                flippedAt = s.errors(500).n();
                OnlineOutputSelection.Revision v = rev.get(0);
                assertEquals(TIB, v.from());
                assertEquals(CACHE, v.to());
                assertTrue(v.low() > 0, "the interval lay wholly on the cache's side: " + v);
                assertEquals(500, v.timestep());
            }
        }
        assertEquals(1, flips, "exactly one flip");
        assertEquals(16, flippedAt, "not before min-samples, and at once when the evidence is clear");
        assertEquals(CACHE, s.choice(500));
        assertTrue(s.settled(500));
        // even a reversal of the evidence does not flip a settled step back
        for (int batch = 0; batch < 200; batch++) s.observe(500, new double[] {0.01, 0.01}, new double[] {0.2, 0.2});
        assertEquals(List.of(), s.revise());
        assertEquals(CACHE, s.choice(500));
    }

    @Test
    void stateRoundTripsAndTheSameObservationsGiveTheSameRevisions() {
        SettlingRule rule = new SettlingRule(4, 0.9);
        Map<Long, MaintenanceStrategy> init = new LinkedHashMap<>();
        init.put(800L, CACHE);
        init.put(200L, TIB);
        OnlineOutputSelection a = new OnlineOutputSelection(init, rule);
        a.observe(800, new double[] {0.01, 0.012, 0.011}, new double[] {0.03, 0.031, 0.029});
        a.observe(200, new double[] {0.05, 0.06}, new double[] {0.05, 0.061});
        OnlineOutputSelection b = OnlineOutputSelection.restore(a.state(), rule);
        assertEquals(a.state(), b.state());
        double[] more = {0.01, 0.011};
        a.observe(800, more, new double[] {0.03, 0.03});
        b.observe(800, more, new double[] {0.03, 0.03});
        List<OnlineOutputSelection.Revision> ra = a.revise();
        assertEquals(ra, b.revise());
        assertEquals(1, ra.size());
        assertEquals(TIB, a.table().strategy("m", 800), "t = 800 flipped to the TIB");
        assertEquals(TIB, a.table().strategy("m", 200));
        var e = assertThrows(IllegalArgumentException.class, () -> a.observe(123, more, more));
        assertTrue(e.getMessage().contains("123"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SettlingRule(1, 0.95));
        assertThrows(IllegalArgumentException.class, () -> new SettlingRule(10, 1.0));
    }
}
