import { describe, expect, it } from "vitest";
import { difference, verdict } from "./kpis";

describe("difference", () => {
  it("gives ratios in percentage points", () => {
    expect(difference("ratio", 0.62, 0.5, "en")).toEqual({ value: 0.62 - 0.5, text: "+12.0 pp" });
    expect(difference("ratio", 0.4, 0.5, "en").text).toBe("−10.0 pp");
  });
  it("keeps the unit of energy, money and CO2", () => {
    expect(difference("money", 120.5, 100, "en").text).toBe("+20.50 EUR");
    expect(difference("energy", 900, 1234.56, "en").text).toBe("−334.6 kWh");
    expect(difference("co2", 10, 12.25, "de").text).toBe("−2,3 kg");
  });
  it("carries no sign when the difference rounds to zero", () => {
    expect(difference("ratio", 0.50001, 0.5, "en").text).toBe("±0.0 pp");
    expect(difference("money", 3, 3, "en")).toEqual({ value: 0, text: "±0.00 EUR" });
  });
  it("is missing when either side is", () => {
    expect(difference("energy", null, 1)).toEqual({ value: null, text: "–" });
    expect(difference("energy", 1, undefined)).toEqual({ value: null, text: "–" });
  });
});

describe("verdict", () => {
  it("says whether a difference is better for the owner", () => {
    expect(verdict("lower", difference("money", 1, 17, "en"))).toBe("better");
    expect(verdict("higher", difference("ratio", 0.96, 0.33, "en"))).toBe("better");
    expect(verdict("higher", difference("money", 5, 16, "en"))).toBe("worse");
  });
  it("has none for neutral figures, missing values and differences that round to zero", () => {
    expect(verdict(undefined, difference("energy", 1, 2, "en"))).toBe("");
    expect(verdict("lower", difference("energy", null, 2, "en"))).toBe("");
    expect(verdict("higher", difference("ratio", 0.50001, 0.5, "en"))).toBe("");
  });
});
