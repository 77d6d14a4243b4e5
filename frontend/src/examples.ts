// The example queries of the README (on the demo data), opened as GraphiQL's tabs.
export const EXAMPLES: readonly string[] = [
  `# Daily PV statistics across the 25-hour day of 2025-10-26
query DailyPvAcrossDst {
  series(key: "demo:pv:power") {
    name unit timezone resolution firstTimestamp lastTimestamp
    aggregate(from: "2025-10-20T00:00:00+02:00", to: "2025-10-28T00:00:00+01:00",
              every: "P1D", timezone: "Europe/Berlin") {
      starts ends avg max count
    }
  }
}
`,
  `# Hourly prices with every bucket present, gaps interpolated
query HourlyPricesFilled {
  series(key: "smard:4169:DE-LU:hour") {
    aggregate(from: "2025-10-26T00:00:00+02:00", to: "2025-10-27T00:00:00+01:00",
              every: "PT1H", fill: LINEAR) { starts avg }
  }
}
`,
  `# Raw samples, and a filtered, paginated list of series
query RawSamplesAndSeriesList {
  series(key: "smard:4169:DE-LU:quarterhour") {
    samples(from: "2025-10-01T00:00:00+02:00", to: "2025-10-01T06:00:00+02:00", limit: 24) {
      timestamps values truncated
    }
  }
  seriesList(filter: {kind: PRICE, labels: {region: "DE-LU"}}, first: 10) {
    nodes { key unit resolution }
    pageInfo { hasNextPage endCursor }
  }
}
`,
  `# Site KPIs per week of the demo data
query SiteKpisPerWeek {
  site(key: "demo") {
    kpis(from: "2025-10-06T00:00:00+02:00", to: "2025-11-03T00:00:00+01:00", every: "P1W") {
      buckets { start production consumption gridImport gridExport selfConsumptionRate autarky
                importCost savings co2Import }
      total { production consumption gridImport gridExport selfConsumptionRate autarky
              importCost feedInRevenue baselineCost savings averageImportPrice
              co2Import co2Avoided coverage priceCoverage intensityCoverage }
      warnings { code level quantity bucket message }
    }
  }
}
`,
  `# Day-ahead price and grid CO2 intensity per day
query PriceAndIntensityPerDay {
  marketPrice(zone: "DE-LU", resolution: QUARTERHOUR, from: "2025-10-20T00:00:00+02:00",
              to: "2025-10-27T00:00:00+01:00", every: "P1D") {
    eurPerMwh ctPerKwh total { eurPerMwh ctPerKwh coverage }
  }
  gridIntensity(region: "DE", from: "2025-10-20T00:00:00+02:00",
                to: "2025-10-27T00:00:00+01:00", every: "P1D") {
    gPerKwh total { gPerKwh generationMwh coverage } warnings { code level }
  }
}
`,
];
