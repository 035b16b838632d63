/// <reference path="./.sst/platform/config.d.ts" />

// Everything the stage deploys is described once, in infra/topology.ts; infra/sst-plan.ts turns it
// into SST arguments (unit-tested) and infra/sst.ts creates the components.
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "flashstock",
      home: "aws",
      // Production keeps its data when removed and cannot be removed by accident.
      removal: production ? "retain" : "remove",
      protect: production,
    };
  },
  async run() {
    const { deployStage } = await import("./infra/sst");
    return deployStage();
  },
});
