using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>Where an MLP's weights live inside a flat parameter vector.</summary>
/// <param name="Sizes">Layer widths, input first: e.g. [P, 25, 50, L].</param>
/// <param name="WeightOffsets">Offset of each layer's weight matrix (in x out, row-major).</param>
/// <param name="BiasOffsets">Offset of each layer's bias vector (out).</param>
internal sealed record MlpLayout(int[] Sizes, int[] WeightOffsets, int[] BiasOffsets)
{
    public int Layers => Sizes.Length - 1;
    public int WeightCount => Enumerable.Range(0, Layers).Sum(k => Sizes[k] * Sizes[k + 1]);
}

/// <summary>
/// A multilayer perceptron with ReLU hidden layers and a linear output, evaluated on a whole batch (rows are
/// samples) with GEMMs. Activations are kept in caller-owned buffers for the backward pass, so a training epoch
/// allocates nothing.
/// </summary>
internal sealed class Mlp(MlpLayout layout, IBlas blas)
{
    public MlpLayout Layout { get; } = layout;

    /// <summary>Buffers for a batch: the activations of every layer (post-ReLU for hidden ones).</summary>
    public sealed class Workspace
    {
        public Workspace(MlpLayout layout, int batch)
        {
            Batch = batch;
            Activations = Enumerable.Range(1, layout.Layers).Select(k => new float[batch * layout.Sizes[k]]).ToArray();
            Deltas = Enumerable.Range(1, layout.Layers).Select(k => new float[batch * layout.Sizes[k]]).ToArray();
        }

        public int Batch { get; }
        /// <summary>Activations[k] is the output of layer k (0-based): batch x Sizes[k + 1].</summary>
        public float[][] Activations { get; }
        /// <summary>Gradients with respect to each layer's pre-activation.</summary>
        public float[][] Deltas { get; }
        public float[] Output => Activations[^1];
    }

    /// <summary>Forward pass of <paramref name="input"/> (batch x Sizes[0]); the result is <see cref="Workspace.Output"/>.</summary>
    public void Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> input, int batch, Workspace ws)
    {
        var s = Layout.Sizes;
        for (var k = 0; k < Layout.Layers; k++)
        {
            var x = k == 0 ? input : ws.Activations[k - 1];
            var z = ws.Activations[k].AsSpan(0, batch * s[k + 1]);
            var bias = theta.Slice(Layout.BiasOffsets[k], s[k + 1]);
            for (var r = 0; r < batch; r++) bias.CopyTo(z.Slice(r * s[k + 1], s[k + 1]));
            blas.Gemm(false, false, batch, s[k + 1], s[k], 1f, x, s[k], theta[Layout.WeightOffsets[k]..], s[k + 1], 1f, z, s[k + 1]);
            if (k < Layout.Layers - 1)
                ColumnOps.Relu(z);
        }
    }

    /// <summary>
    /// Backward pass after <see cref="Forward"/>: given dJ/dOutput (batch x out), accumulates the weight and bias
    /// gradients into <paramref name="grad"/> (same layout as theta) and, when <paramref name="inputGrad"/> is not
    /// empty, writes dJ/dInput (batch x in) into it.
    /// </summary>
    public void Backward(ReadOnlySpan<float> theta, ReadOnlySpan<float> input, int batch, Workspace ws, ReadOnlySpan<float> outputGrad,
        Span<float> grad, Span<float> inputGrad, bool accumulateInputGrad = false, bool weightGradients = true)
    {
        var s = Layout.Sizes;
        var last = Layout.Layers - 1;
        outputGrad[..(batch * s[^1])].CopyTo(ws.Deltas[last]);
        for (var k = last; k >= 0; k--)
        {
            var delta = ws.Deltas[k].AsSpan(0, batch * s[k + 1]);
            var x = k == 0 ? input : ws.Activations[k - 1];
            if (weightGradients)
            {
                blas.Gemm(true, false, s[k], s[k + 1], batch, 1f, x, s[k], delta, s[k + 1], 1f, grad[Layout.WeightOffsets[k]..], s[k + 1]);
                var gb = grad.Slice(Layout.BiasOffsets[k], s[k + 1]);
                // Each bias sums its rows in order; the vectors run across the biases.
                for (var r = 0; r < batch; r++) ColumnOps.Add(gb, delta.Slice(r * s[k + 1], s[k + 1]));
            }
            if (k > 0)
            {
                var prev = ws.Deltas[k - 1].AsSpan(0, batch * s[k]);
                blas.Gemm(false, true, batch, s[k], s[k + 1], 1f, delta, s[k + 1], theta[Layout.WeightOffsets[k]..], s[k + 1], 0f, prev, s[k]);
                var act = ws.Activations[k - 1];
                ColumnOps.MaskRelu(prev, prev, act);
            }
            else if (!inputGrad.IsEmpty)
            {
                blas.Gemm(false, true, batch, s[0], s[1], 1f, delta, s[1], theta[Layout.WeightOffsets[0]..], s[1], accumulateInputGrad ? 1f : 0f, inputGrad, s[0]);
            }
        }
    }
    /// <summary>
    /// Forward pass in feature-major layout: <paramref name="input"/> is Sizes[0] x batch (one column per sample),
    /// and so are the activations left in <paramref name="ws"/> (layer k: Sizes[k + 1] x batch). With
    /// <see cref="ReproducibleBlas"/> a sample's output depends on that sample alone.
    /// </summary>
    /// <param name="layers">How many layers to evaluate (default all): the deep apply stops before the output layer.</param>
    public void ForwardColumns(ReadOnlySpan<float> theta, ReadOnlySpan<float> input, int batch, Workspace ws, int layers = -1)
    {
        var s = Layout.Sizes;
        var count = layers < 0 ? Layout.Layers : layers;
        for (var k = 0; k < count; k++)
        {
            var x = k == 0 ? input : ws.Activations[k - 1];
            var z = ws.Activations[k].AsSpan(0, s[k + 1] * batch);
            var bias = theta.Slice(Layout.BiasOffsets[k], s[k + 1]);
            for (var o = 0; o < s[k + 1]; o++) z.Slice(o * batch, batch).Fill(bias[o]);
            // Z = Wᵀ X + b, W stored in x out.
            blas.Gemm(true, false, s[k + 1], batch, s[k], 1f, theta[Layout.WeightOffsets[k]..], s[k + 1], x, batch, 1f, z, batch);
            if (k < Layout.Layers - 1) ColumnOps.Relu(z);
        }
    }

    /// <summary>
    /// After <see cref="ForwardColumns"/>: adds dJ/dInput (Sizes[0] x batch) to <paramref name="inputGrad"/> for
    /// dJ/dOutput = <paramref name="outputScale"/> x <paramref name="outputGrad"/> (Sizes[^1] x batch). No weight
    /// gradients (the weights are fixed when a model is applied).
    /// </summary>
    /// <param name="fromLayer">
    /// When given (a hidden layer's index), <paramref name="outputGrad"/> is dJ/d(that layer's activations,
    /// Sizes[fromLayer + 1] x batch) instead, and the layers above it are skipped.
    /// </param>
    public void BackwardInputColumns(ReadOnlySpan<float> theta, int batch, Workspace ws, ReadOnlySpan<float> outputGrad, float outputScale,
        Span<float> inputGrad, int fromLayer = -1)
    {
        var s = Layout.Sizes;
        var top = fromLayer < 0 ? Layout.Layers - 1 : fromLayer;
        ReadOnlySpan<float> delta;
        if (top < Layout.Layers - 1)
        {
            // Through the ReLU of layer `top` first.
            var masked = ws.Deltas[top].AsSpan(0, s[top + 1] * batch);
            ColumnOps.MaskRelu(masked, outputGrad, ws.Activations[top]);
            delta = masked;
        }
        else delta = outputGrad[..(s[^1] * batch)];
        var scale = outputScale;
        for (var k = top; k >= 0; k--)
        {
            var w = theta[Layout.WeightOffsets[k]..];
            if (k == 0)
            {
                blas.Gemm(false, false, s[0], batch, s[1], scale, w, s[1], delta, batch, 1f, inputGrad, batch);
                return;
            }
            // dJ/dX = W dJ/dZ, then through the ReLU of layer k - 1.
            var prev = ws.Deltas[k - 1].AsSpan(0, s[k] * batch);
            blas.Gemm(false, false, s[k], batch, s[k + 1], scale, w, s[k + 1], delta, batch, 0f, prev, batch);
            ColumnOps.MaskRelu(prev, prev, ws.Activations[k - 1]);
            delta = prev;
            scale = 1f;
        }
    }
}
