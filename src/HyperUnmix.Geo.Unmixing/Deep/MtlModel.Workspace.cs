using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

public sealed partial class MtlModel
{
    /// <summary>Per-worker buffers for <see cref="Apply"/>.</summary>
    public sealed class Workspace
    {
        internal Workspace(MtlModel m, int batch)
        {
            var r = m.Subspace;
            Batch = batch;
            _bands = m.Bands;
            Mlp = new Mlp.Workspace(r.Layout, batch);
            TrialMlp = new Mlp.Workspace(r.Layout, batch);
            Yn = new float[batch * m.Bands];
            Sum = new double[batch];
            At = new float[batch * m.Count];
            Trial = new float[batch * m.Count];
            Grad = new float[batch * m.Count];
            T = new float[batch * r.Rank];
            U = new float[batch * r.Rank];
            TrialU = new float[batch * r.Rank];
            V = new float[batch * r.Hidden];
            R1 = new float[batch * m.Bands];
            Loss = new double[batch];
            TrialLoss = new double[batch];
            Accept = new bool[batch];
            Step = new float[batch];
            Fcls = new float[m.Count * batch];
            Residual = new float[batch];
            LinearResidual = new float[batch];
            Valid = new byte[batch];
            Solver = new TileScratch();
            Chunk = new float[m.Bands * batch];
            PixelScales = new float[batch];
        }

        /// <summary>The current batch's pixel count (at most <see cref="Batch"/>).</summary>
        internal int Pixels { get; set; }

        /// <summary>The batch's chunk as a linear solver's tile: FCLS abundances and residual into this workspace.</summary>
        internal TileBuffers FclsBuffers(float[] chunk, Span<float> scales) => new()
        {
            Y = chunk.AsSpan(0, _bands * Pixels),
            Pixels = Pixels,
            Valid = Valid.AsSpan(0, Pixels),
            Abundances = Fcls,
            Residual = Residual,
            Scales = scales.IsEmpty ? default : scales[..Pixels],
        };

        private readonly int _bands;

        internal float[] Chunk { get; }
        internal float[] PixelScales { get; }

        /// <summary>The most pixels one batch holds (<see cref="BatchPixels"/>).</summary>
        public int Batch { get; }
        /// <summary>The network's activations at the accepted abundances, and at the trial ones.</summary>
        internal Mlp.Workspace Mlp { get; private set; }
        internal Mlp.Workspace TrialMlp { get; private set; }
        internal float[] Yn { get; }
        internal double[] Sum { get; }
        internal float[] At { get; private set; }
        internal float[] Trial { get; private set; }
        internal float[] Grad { get; }
        /// <summary>t = Qᵀs per pixel, and the reduced residuals u = R z + t at the accepted and the trial point (rank x pixels).</summary>
        internal float[] T { get; }
        internal float[] U { get; private set; }
        internal float[] TrialU { get; private set; }
        /// <summary>Rᵀu for the last hidden layer's activations (hidden x pixels).</summary>
        internal float[] V { get; }
        internal float[] R1 { get; }
        internal double[] Loss { get; }
        internal double[] TrialLoss { get; }
        internal bool[] Accept { get; }
        internal float[] Step { get; }
        internal float[] Fcls { get; }
        internal float[] Residual { get; }
        internal float[] LinearResidual { get; }
        internal byte[] Valid { get; }
        internal TileScratch Solver { get; }

        /// <summary>Every pixel took its trial step: the trial point becomes the accepted one by exchanging the buffers, not copying them.</summary>
        internal void AcceptAll()
        {
            (At, Trial) = (Trial, At);
            (U, TrialU) = (TrialU, U);
            (Mlp, TrialMlp) = (TrialMlp, Mlp);
        }
    }
}
