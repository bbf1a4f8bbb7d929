// The namespaces every command file uses.
global using HyperUnmix.Geo.Gdal;
global using HyperUnmix.Geo.Pipeline;
global using HyperUnmix.Geo.Raster;
global using HyperUnmix.Geo.Unmixing.Deep;
global using HyperUnmix.Geo.Unmixing.Endmembers;
global using HyperUnmix.Geo.Unmixing.Extraction;
global using HyperUnmix.Geo.Unmixing.LinearAlgebra;
global using HyperUnmix.Geo.Unmixing.Metrics;
global using HyperUnmix.Geo.Unmixing.Solvers;
global using HyperUnmix.Geo.Unmixing.Synthetic;
global using System.CommandLine;
global using System.Globalization;
global using System.Text.Json;
