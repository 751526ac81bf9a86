package dev.tfmq.harness.actors;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.Estimate;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.Tensor;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

/** Every actor message type survives a round trip through Pekko's configured serializer (Jackson CBOR). */
class ProtocolSerializationTest {
    static final ActorTestKit KIT = ActorTestKit.create();
    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).build();

    @AfterAll
    static void stop() {
        KIT.shutdownTestKit();
    }

    @SuppressWarnings("unchecked")
    static <T> ActorRef<T> ref() {
        return (ActorRef<T>) KIT.createTestProbe().ref();
    }

    static List<CborMessage> samples() {
        BatchSpec b = new BatchSpec(3, 96, 32);
        Tensor t = new Tensor(new long[] {2, 1, 2, 2}, new float[] {1, 2, 3, 4, 5, 6, 7, Float.NaN});
        Map<String, float[]> temporal = new LinkedHashMap<>();
        temporal.put("time_embedding", new float[] {0.5f, -1f});
        temporal.put("down_blocks.0.resnets.0.time_emb_proj", new float[] {2f});
        Map<Long, Map<String, String>> perStep = new TreeMap<>();
        perStep.put(981L, Map.of("time_embedding", "cache"));
        SelectionTable sel = new SelectionTable("per-step", "relative-l2", List.of("tib", "cache"), Map.of("time_embedding", "cache"),
                perStep, Map.of("time_embedding", Map.of("tib", 0.1, "cache", 0.01)));
        Map<Long, String> serving = new LinkedHashMap<>();
        serving.put(981L, "tib");
        serving.put(1L, "cache");
        Map<Long, Map<String, Double>> stepErrors = new LinkedHashMap<>();
        stepErrors.put(981L, Map.of("tib", 0.02, "cache", 0.03));
        stepErrors.put(1L, Map.of("tib", 0.5, "cache", 0.4));
        SelectionTable output = SelectionTable.byOutput(List.of("tib", "cache"), List.of("down_blocks.0.resnets.0.time_emb_proj"), serving, stepErrors);
        var errors = new dev.tfmq.strategies.temporal.OutputErrors(new long[] {981, 1}, new double[][] {{0.02, 0.01}, {0.5, 0.6}},
                new double[][] {{0.03, 0.02}, {0.4, 0.5}});
        var online = new dev.tfmq.harness.eval.OnlineSelection(output, new long[] {981, 1},
                new dev.tfmq.harness.eval.OnlineSelection.Settings(2, 0.95, 2));
        online.commit(0, errors);
        var view = online.view();
        DisturbanceTable dt = new DisturbanceTable(new long[] {981, 1}, List.of("time_embedding"));
        Estimate e = new Estimate(1.5, 1.2, 1.9, 0.95, 64, "poisson-bootstrap");
        QualitySnapshot q = new QualitySnapshot(64, Map.of("fid", e), Map.of("fid", e, "kid", e), Map.of("fid", e),
                Map.of("psnr", new Estimate(Double.POSITIVE_INFINITY, 30, Double.POSITIVE_INFINITY, 0.95, 64, "bootstrap")), List.of("warn"));
        Map<Long, Map<String, Map<String, float[]>>> byT = new LinkedHashMap<>();
        byT.put(981L, Map.of("tib", temporal, "cache", temporal));
        Map<Long, Map<String, Map<String, Double>>> measured = new LinkedHashMap<>();
        measured.put(981L, Map.of("time_embedding", Map.of("tib", 0.1, "cache", 0.2)));
        return List.of(
                new BatchSource.RequestBatch(ref()),
                new BatchConductor.Begin(), new BatchConductor.Assigned(b, null), new BatchConductor.Assigned(b, output), new BatchConductor.SourceExhausted(),
                new BatchConductor.Stepped("fp", 3, 4, t, null, 0), new BatchConductor.Stepped("quantized", 3, 19, null, t, 123456789L),
                new BatchConductor.BatchCommitted(3),
                new DenoisingWorker.RunStep(b, 2, t, null, ref()), new DenoisingWorker.RunStep(b, 0, null, output, ref()), new DenoisingWorker.ProbeTemporal(new long[] {981, 1}, ref()),
                new DenoisingWorker.ApplySelection(sel, ref()),
                new DisturbanceMonitor.StepReport("quantized", b, 2, 901, t, t, t, temporal, Map.of("tib", t, "cache", t)),
                new DisturbanceMonitor.TemporalProbeReport("quantized", List.of("tib", "cache"), List.of("time_embedding"), byT, output),
                new StrategySelector.ProbeMeasured(List.of("tib", "cache"), List.of("time_embedding"), measured, null),
                new StrategySelector.StepObserved(2, 901, Map.of("time_embedding", 0.25)),
                new StrategySelector.Revised(output, view),
                new FeatureWorker.FeaturizeBatch(b, t, t, 10, 20, ref()),
                new MetricAggregator.BatchFeatures(b, t, t, null, t, new double[] {1e-3}, new double[] {Double.POSITIVE_INFINITY},
                        new double[] {0.9}, 5, 6, ref()),
                new MetricAggregator.BatchDisturbance(b, dt.state(), null), new MetricAggregator.BatchDisturbance(b, dt.state(), errors),
                new MetricAggregator.SamplingStarted(sel),
                new Publisher.ProgressUpdate(64, 512, 2, 16, 12.5, Double.NaN, 14.0), new Publisher.StepDone(3, 7, 20, 64),
                new Publisher.QualityUpdate(q),
                new Publisher.DisturbanceUpdate(dt.state()), new Publisher.SelectionUpdate(sel, Map.of("time_embedding", 0.01), null), new Publisher.SelectionUpdate(output, Map.of(), view),
                new Publisher.GridsReady(3, "iVBORw0=", "iVBORw0="), new Publisher.Status("sampling", "512 samples"),
                new Publisher.MembersUpdate(List.of(new Publisher.NodeRow("pekko://tfmq@10.0.0.5:25520", List.of("worker"), "up", 3, 96, 1,
                        12.5)), 2),
                // the messages that cross nodes in a cluster run
                new dev.tfmq.harness.cluster.WorkLedger.Enlist("pekko://tfmq@10.0.0.5:25520", ref()),
                new dev.tfmq.harness.cluster.WorkLedger.Pull("pekko://tfmq@10.0.0.5:25520", ref()),
                new dev.tfmq.harness.cluster.WorkLedger.Completed("pekko://tfmq@10.0.0.5:25520", new MetricAggregator.BatchFeatures(b, t, t,
                        t, t, new double[] {1e-3}, new double[] {30}, new double[] {0.9}, 5, 6, ref()), new MetricAggregator.BatchDisturbance(b, dt.state(), errors)),
                new dev.tfmq.harness.cluster.WorkLedger.Refused("pekko://tfmq@10.0.0.5:25520", "model differs"),
                new dev.tfmq.harness.cluster.WorkLedger.Departed("pekko://tfmq@10.0.0.5:25520"),
                new dev.tfmq.harness.cluster.WorkerAgent.RunAssignment(new dev.tfmq.harness.cluster.WorkLedger.Descriptor("tfmq { }", "/runs",
                        "{}", "{\"kernels\":\"nd4j-kernels\"}"), sel, ref(), ref(), ref()),
                new dev.tfmq.harness.cluster.WorkerAgent.RunOver(ref()),
                new dev.tfmq.harness.cluster.WorkLedger.Release(4, 5, output),
                new BatchSource.Release(0, 8, null), new BatchSource.Release(4, 5, output),
                new RunCoordinator.SelectionDecided(sel), new RunCoordinator.SelectionApplied("fp"), new RunCoordinator.BatchReleased(4, output),
                new RunCoordinator.SamplingFinished(),
                new RunCoordinator.AggregationDone(new MetricAggregator.Result(64, 2, q, List.of(q), dt.state(), sel, null, 1, 2, 3, 4, 64)),
                new RunCoordinator.AggregationDone(new MetricAggregator.Result(64, 2, q, List.of(q), dt.state(), output, view, 1, 2, 3, 4, 64)));
    }

    @Test
    void everyMessageRoundTripsThroughJacksonCbor() throws Exception {
        Serialization ser = SerializationExtension.get(Adapter.toClassic(KIT.system()));
        Set<Class<?>> covered = new HashSet<>();
        for (CborMessage m : samples()) {
            Serializer s = ser.findSerializerFor(m);
            assertEquals("org.apache.pekko.serialization.jackson.JacksonJsonSerializer".replace("Json", "Cbor"), s.getClass().getName(),
                    m.getClass().getSimpleName());
            byte[] bytes = ser.serialize(m).get();
            Object back = ser.deserialize(bytes, s.identifier(), Serializers.manifestFor(s, m)).get();
            assertNotSame(m, back);
            assertEquals(m.getClass(), back.getClass());
            assertEquals(JSON.writeValueAsString(m), JSON.writeValueAsString(back), m.getClass().getSimpleName());
            covered.add(m.getClass());
        }
        for (Class<?> protocol : List.of(BatchSource.Command.class, BatchConductor.Command.class, DenoisingWorker.Command.class,
                DisturbanceMonitor.Command.class, StrategySelector.Command.class, FeatureWorker.Command.class,
                MetricAggregator.Command.class, Publisher.Command.class, RunCoordinator.Command.class)) {
            for (Class<?> c : protocol.getPermittedSubclasses()) {
                assertEquals(true, covered.contains(c), "no round-trip sample for " + c.getName());
            }
        }
    }
}
