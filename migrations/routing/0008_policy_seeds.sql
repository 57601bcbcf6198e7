-- The first published policy versions (DESIGN.md §4.3), written as the national operator
-- would publish them: each document is stored as the exact text between its markers, its id
-- <region>-<insutype>-<first 12 hex of the SHA-256 of that text>, published in the order given.
--
-- Where the figures come from:
-- * Huangshi 2010 employees (420200/310), Tianjin 2016 residents (120000/390) and employees
--   (120000/310, versions 2016 and 2017), Shanxi 2017 residents (140000/390): the published
--   local documents as DESIGN.md §4.3 summarises them;
-- * Guangdong 2009 (440000): the province's floors for its cities (the two `floors`
--   documents), and province-level employee and resident policies that meet them exactly;
-- * the national default (000000) for insutypes 310, 320, 330 (employees) and 390, 392
--   (residents): not a published document, the typical values medclear used as its generated
--   default;
-- * medical assistance everywhere: the 2021 national opinions on major and serious diseases
--   (特困 and 低保: no deductible, ratio at least 70 %).
-- Every figure not in those sources is assumed: each document lists the fields whose figures
-- are assumed in its "assumed" and explains its choices in its "notes".
--
-- `services/routing/src/policies/tests.rs` reads the documents out of this file, checks each
-- against the format and the province's floors, and settles the seed facts with them.
INSERT INTO policy_documents (policy_id, region, insutype, kind, label, title, begin_date, end_date, sha256, document, created_by, created_at, seq, published_by, published_at)
SELECT (d->>'region') || '-' || (d->>'insutype') || '-' || left(h, 12), d->>'region', d->>'insutype', COALESCE(d->>'kind', 'policy'), d->>'version', COALESCE(d->>'title', ''), (d->>'begin_date')::date, (d->>'end_date')::date, h, t, 'seed', now(), nextval('policy_publication_seq'), 'seed', now()
FROM (SELECT t, t::jsonb AS d, encode(sha256(convert_to(t, 'UTF8')), 'hex') AS h, n
      FROM unnest(ARRAY[
$policy${
  "kind": "policy",
  "region": "000000",
  "insutype": "310",
  "scheme": "employee",
  "version": "default-2020",
  "title": "全国默认：职工基本医疗保险",
  "source": "Not a published document: medclear's national default for home regions without a published policy (DESIGN.md §4.3: looked up county → city → province → national default), re-encoding the generated default of earlier versions.",
  "notes": "Typical national values, all assumed except what DESIGN.md states: the temporary reductions (−10 points referral/emergency, −20 other) and the 2021 opinions' 特困/低保 assistance terms (no deductible, 70 %). Insutype 310 (employees' basic medical insurance). Pooling ceiling 300,000 yuan a year over all kinds of care; inpatient deductibles 1,000/600/300 yuan (tertiary/secondary/other) per admission, ratios 85/88/90 %, +3 points retired; general outpatient 200 yuan a year, 50 %, cap 2,000 yuan; chronic outpatient 70 %, cap 10,000 yuan; pharmacy 50 %, cap 1,000 yuan; large-amount fund 80 % of the in-scope self-burden of inpatient and chronic outpatient care above 20,000 yuan a year, at most 400,000 yuan. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2020-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "general_outpatient",
        "chronic_outpatient",
        "pharmacy"
      ],
      "annual_cap_fen": 30000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 60000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.91"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.93"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": null,
          "ratio": "0.80"
        }
      ],
      "annual_cap_fen": 40000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "000000",
  "insutype": "320",
  "scheme": "employee",
  "version": "default-2020",
  "title": "全国默认：公务员医疗补助",
  "source": "Not a published document: medclear's national default for home regions without a published policy (DESIGN.md §4.3: looked up county → city → province → national default), re-encoding the generated default of earlier versions.",
  "notes": "Typical national values, all assumed except what DESIGN.md states: the temporary reductions (−10 points referral/emergency, −20 other) and the 2021 opinions' 特困/低保 assistance terms (no deductible, 70 %). Insutype 320 (civil servants' medical subsidy, settled as employees). Pooling ceiling 300,000 yuan a year over all kinds of care; inpatient deductibles 1,000/600/300 yuan (tertiary/secondary/other) per admission, ratios 85/88/90 %, +3 points retired; general outpatient 200 yuan a year, 50 %, cap 2,000 yuan; chronic outpatient 70 %, cap 10,000 yuan; pharmacy 50 %, cap 1,000 yuan; large-amount fund 80 % of the in-scope self-burden of inpatient and chronic outpatient care above 20,000 yuan a year, at most 400,000 yuan. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2020-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "general_outpatient",
        "chronic_outpatient",
        "pharmacy"
      ],
      "annual_cap_fen": 30000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 60000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.91"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.93"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": null,
          "ratio": "0.80"
        }
      ],
      "annual_cap_fen": 40000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "000000",
  "insutype": "330",
  "scheme": "employee",
  "version": "default-2020",
  "title": "全国默认：职工大额医疗费用补助",
  "source": "Not a published document: medclear's national default for home regions without a published policy (DESIGN.md §4.3: looked up county → city → province → national default), re-encoding the generated default of earlier versions.",
  "notes": "Typical national values, all assumed except what DESIGN.md states: the temporary reductions (−10 points referral/emergency, −20 other) and the 2021 opinions' 特困/低保 assistance terms (no deductible, 70 %). Insutype 330 (employees' large-amount subsidy, settled as employees). Pooling ceiling 300,000 yuan a year over all kinds of care; inpatient deductibles 1,000/600/300 yuan (tertiary/secondary/other) per admission, ratios 85/88/90 %, +3 points retired; general outpatient 200 yuan a year, 50 %, cap 2,000 yuan; chronic outpatient 70 %, cap 10,000 yuan; pharmacy 50 %, cap 1,000 yuan; large-amount fund 80 % of the in-scope self-burden of inpatient and chronic outpatient care above 20,000 yuan a year, at most 400,000 yuan. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2020-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "general_outpatient",
        "chronic_outpatient",
        "pharmacy"
      ],
      "annual_cap_fen": 30000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 60000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.91"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.93"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": null,
          "ratio": "0.80"
        }
      ],
      "annual_cap_fen": 40000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "000000",
  "insutype": "390",
  "scheme": "resident",
  "version": "default-2020",
  "title": "全国默认：城乡居民基本医疗保险",
  "source": "Not a published document: medclear's national default for home regions without a published policy (DESIGN.md §4.3: looked up county → city → province → national default), re-encoding the generated default of earlier versions.",
  "notes": "Typical national values, all assumed except what DESIGN.md states: the temporary reductions (−10 points referral/emergency, −20 other) and the 2021 opinions' 特困/低保 assistance terms (no deductible, 70 %). Insutype 390 (residents' basic medical insurance). Pooling ceiling 200,000 yuan a year over all kinds of care; inpatient deductibles 1,200/800/400 yuan (tertiary/secondary/other) per admission, ratios 60/70/80 %; general outpatient 200 yuan a year, 50 %, cap 2,000 yuan; chronic outpatient 70 %, cap 10,000 yuan; pharmacy 50 %, cap 1,000 yuan; serious-illness insurance on the in-scope self-burden of inpatient and chronic outpatient care: 60 % from 15,000 to 100,000 yuan a year, 70 % above, at most 400,000 yuan. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2020-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "general_outpatient",
        "chronic_outpatient",
        "pharmacy"
      ],
      "annual_cap_fen": 20000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 120000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 40000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      },
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.80"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "serious_illness",
      "fund": "serious_illness",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 1500000,
          "to_fen": 10000000,
          "ratio": "0.60"
        },
        {
          "from_fen": 10000000,
          "to_fen": null,
          "ratio": "0.70"
        }
      ],
      "annual_cap_fen": 40000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "000000",
  "insutype": "392",
  "scheme": "resident",
  "version": "default-2020",
  "title": "全国默认：城乡居民大病医疗保险",
  "source": "Not a published document: medclear's national default for home regions without a published policy (DESIGN.md §4.3: looked up county → city → province → national default), re-encoding the generated default of earlier versions.",
  "notes": "Typical national values, all assumed except what DESIGN.md states: the temporary reductions (−10 points referral/emergency, −20 other) and the 2021 opinions' 特困/低保 assistance terms (no deductible, 70 %). Insutype 392 (residents' serious-illness insurance, settled as residents). Pooling ceiling 200,000 yuan a year over all kinds of care; inpatient deductibles 1,200/800/400 yuan (tertiary/secondary/other) per admission, ratios 60/70/80 %; general outpatient 200 yuan a year, 50 %, cap 2,000 yuan; chronic outpatient 70 %, cap 10,000 yuan; pharmacy 50 %, cap 1,000 yuan; serious-illness insurance on the in-scope self-burden of inpatient and chronic outpatient care: 60 % from 15,000 to 100,000 yuan a year, 70 % above, at most 400,000 yuan. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2020-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "general_outpatient",
        "chronic_outpatient",
        "pharmacy"
      ],
      "annual_cap_fen": 20000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 120000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 40000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      },
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.80"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "serious_illness",
      "fund": "serious_illness",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 1500000,
          "to_fen": 10000000,
          "ratio": "0.60"
        },
        {
          "from_fen": 10000000,
          "to_fen": null,
          "ratio": "0.70"
        }
      ],
      "annual_cap_fen": 40000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "floors",
  "region": "440000",
  "insutype": "310",
  "version": "2009",
  "title": "广东省职工基本医疗保险待遇下限（2009）",
  "source": "Guangdong 2009 (广东省, 2009), in force 2009-02-23: the province's floors for its cities' policies, a published document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "From the source: employees' inpatient pooling ratio at least 80 % and a yearly ceiling of at least 100,000 yuan, for every policy of a Guangdong region.",
  "assumed": [],
  "begin_date": "2009-02-23",
  "end_date": null,
  "inpatient_ratio_min": "0.80",
  "annual_ceiling_min_fen": 10000000
}$policy$,
$policy${
  "kind": "floors",
  "region": "440000",
  "insutype": "390",
  "version": "2009",
  "title": "广东省城乡居民基本医疗保险待遇下限（2009）",
  "source": "Guangdong 2009 (广东省, 2009), in force 2009-02-23: the province's floors for its cities' policies, a published document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "From the source: residents' inpatient pooling ratio at least 55 % and a yearly ceiling of at least 60,000 yuan, for every policy of a Guangdong region.",
  "assumed": [],
  "begin_date": "2009-02-23",
  "end_date": null,
  "inpatient_ratio_min": "0.55",
  "annual_ceiling_min_fen": 6000000
}$policy$,
$policy${
  "kind": "policy",
  "region": "440000",
  "insutype": "310",
  "scheme": "employee",
  "version": "2009",
  "title": "广东省职工基本医疗保险（省级默认，2009）",
  "source": "Guangdong 2009 (广东省, 2009), in force 2009-02-23: the province's floors for its cities' policies, a published document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "The source sets floors only (employees' inpatient ratio at least 80 %, ceiling at least 100,000 yuan a year; see the floors 440000/310): this province-level policy, used for cities without their own, meets them exactly — employed 80 %, ceiling 100,000 yuan over inpatient and chronic outpatient care. Assumed (the previous seed file's): deductibles 1,000/600/300 yuan, retired 85 %, general outpatient 300 yuan deductible, 50 %, cap 3,000 yuan, chronic outpatient 75 % capped at 10,000 yuan, pharmacy 50 % capped at 1,000 yuan, large-amount fund 85 % of the in-scope self-burden of inpatient and chronic outpatient care above 20,000 yuan a year, at most 500,000 yuan. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient.deductibles",
    "inpatient.bands[0].segments[0].ratio",
    "inpatient.bands[1]",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "temporary_reduction",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2009-02-23",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 10000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 60000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.80"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 300000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.75"
          }
        ]
      }
    ],
    "annual_cap_fen": 1000000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": null,
          "ratio": "0.85"
        }
      ],
      "annual_cap_fen": 50000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "440000",
  "insutype": "390",
  "scheme": "resident",
  "version": "2009",
  "title": "广东省城乡居民基本医疗保险（省级默认，2009）",
  "source": "Guangdong 2009 (广东省, 2009), in force 2009-02-23: the province's floors for its cities' policies, a published document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "The source sets floors only (residents' inpatient ratio at least 55 %, ceiling at least 60,000 yuan a year; see the floors 440000/390): this province-level policy, used for cities without their own, meets them exactly — 55 % at every level, ceiling 60,000 yuan over inpatient and chronic outpatient care. Assumed (the previous seed file's): deductibles 800/500/300 yuan, general outpatient 200 yuan deductible, 50 %, cap 1,500 yuan, chronic outpatient 60 % capped at 6,000 yuan, pharmacy 50 % capped at 600 yuan, serious illness 60 % of the in-scope self-burden of inpatient and chronic outpatient care above 15,000 yuan a year, at most 300,000 yuan. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient.deductibles",
    "inpatient.bands[0].segments[0].ratio",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "temporary_reduction",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2009-02-23",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 6000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 50000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.55"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 150000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      }
    ],
    "annual_cap_fen": 600000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 60000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "serious_illness",
      "fund": "serious_illness",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 1500000,
          "to_fen": null,
          "ratio": "0.60"
        }
      ],
      "annual_cap_fen": 30000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "420200",
  "insutype": "310",
  "scheme": "employee",
  "version": "2010-09",
  "title": "黄石市职工基本医疗保险（2010）",
  "source": "Huangshi 2010 employees (黄石市职工基本医疗保险, 2010), in force 2010-09-01: a published local document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "From the source: inpatient pooling ratios 90/92/94 % (tertiary/secondary/other) employed and 92/94/96 % retired; the pooling fund pays at most 120,000 yuan a year; the large-amount fund's cap is abolished and it pays the in-scope self-pay above 20,000 yuan a year (ratio 1, no cap); lupus (M32), myasthenia gravis (G70) and haemophilia (D66) outpatient care is in pooling; with two or more chronic diseases, the main one's limit plus 50 % of the others'. Chosen: the 120,000-yuan ceiling and the large-amount fund count inpatient and chronic outpatient care (general outpatient and pharmacy have caps of their own); 'in pooling' is read as paid like inpatient care, so the chronic-outpatient bands are the inpatient ratios and the three diseases have no limit of their own beyond the ceiling; hypertension (I10) and type-2 diabetes (E11) are listed with limits of 1,200 and 2,000 yuan at 70 % so the several-diseases rule has limits to combine; unlisted diagnoses are not covered, because a chronic-outpatient (门诊慢特病) benefit is granted per listed disease. Deductibles 800/500/300 yuan per admission and the general outpatient and pharmacy rules are the previous seed file's, assumed. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0].kinds",
    "inpatient.deductibles",
    "general_outpatient",
    "chronic_outpatient.deductibles",
    "chronic_outpatient.bands",
    "chronic_outpatient.annual_cap_fen",
    "pharmacy",
    "chronic_diseases.diseases[0].annual_limit_fen",
    "chronic_diseases.diseases[1].annual_limit_fen",
    "chronic_diseases.diseases[2].annual_limit_fen",
    "chronic_diseases.diseases[3]",
    "chronic_diseases.diseases[4]",
    "chronic_diseases.unlisted",
    "temporary_reduction",
    "layers[0].counts",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2010-09-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 12000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 50000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.92"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.92"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.94"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.94"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.96"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 20000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 200000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.92"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.92"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.94"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.94"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.96"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 100000
  },
  "chronic_diseases": {
    "diseases": [
      {
        "code": "M32",
        "name": "系统性红斑狼疮",
        "annual_limit_fen": null
      },
      {
        "code": "G70",
        "name": "重症肌无力",
        "annual_limit_fen": null
      },
      {
        "code": "D66",
        "name": "血友病",
        "annual_limit_fen": null
      },
      {
        "code": "I10",
        "name": "高血压",
        "annual_limit_fen": 120000,
        "ratio": "0.70"
      },
      {
        "code": "E11",
        "name": "2型糖尿病",
        "annual_limit_fen": 200000,
        "ratio": "0.70"
      }
    ],
    "several": {
      "others_share": "0.50"
    },
    "unlisted": "not_covered"
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": null,
          "ratio": "1.00"
        }
      ],
      "annual_cap_fen": null
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "120000",
  "insutype": "390",
  "scheme": "resident",
  "version": "2016",
  "title": "天津市城乡居民基本医疗保险及大病保险（2016）",
  "source": "Tianjin 2016 residents' serious-illness insurance and basic medical insurance (天津市城乡居民大病保险、基本医疗保险, 2016): published local documents as DESIGN.md §4.3 summarises them, which gives no document name or number.",
  "notes": "From the source: the serious-illness insurance pays, segment by segment, 50 % of the year's in-scope self-burden of inpatient and 门诊特定病种 (chronic outpatient) care from 20,000 to 100,000 yuan, 60 % from 100,000 to 200,000 and 70 % from 200,000 to 300,000 (nothing above; general outpatient and pharmacy do not count); general outpatient at secondary hospitals: deductible 500 yuan a year, cap 3,000 yuan a year, 50 %; pharmacy 50 %; low-income residents +5 points. Chosen: the general-outpatient terms at the other hospital levels are the secondary hospitals' (bands[1], deductibles[1]); the pharmacy ratio is stated from 2017 and is assumed for 2016 too; the +5 points apply to inpatient and chronic-outpatient pooling; the 180,000-yuan pooling ceiling counts inpatient and chronic outpatient care. Inpatient deductibles 800/500/300 yuan and ratios 60/70/80 % (tertiary/secondary/other), the ceiling, chronic outpatient 60 % capped at 8,000 yuan and the pharmacy cap of 800 yuan are the previous seed file's, assumed. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient.deductibles",
    "inpatient.bands",
    "general_outpatient.deductibles[1]",
    "general_outpatient.bands[1]",
    "chronic_outpatient",
    "pharmacy.bands[0].segments[0].ratio",
    "pharmacy.annual_cap_fen",
    "temporary_reduction",
    "category_adjustments[0].applies_to",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2016-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 18000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 50000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      },
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.80"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 50000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 50000
      }
    ],
    "bands": [
      {
        "hospital_level": "secondary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      },
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 300000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      }
    ],
    "annual_cap_fen": 800000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 80000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [
    {
      "category": "low_income",
      "ratio_points": "0.05",
      "applies_to": [
        "inpatient",
        "chronic_outpatient"
      ]
    }
  ],
  "layers": [
    {
      "name": "serious_illness",
      "fund": "serious_illness",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 2000000,
          "to_fen": 10000000,
          "ratio": "0.50"
        },
        {
          "from_fen": 10000000,
          "to_fen": 20000000,
          "ratio": "0.60"
        },
        {
          "from_fen": 20000000,
          "to_fen": 30000000,
          "ratio": "0.70"
        }
      ],
      "annual_cap_fen": null
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "120000",
  "insutype": "310",
  "scheme": "employee",
  "version": "2016",
  "title": "天津市职工基本医疗保险及大额医疗费用补助（2016）",
  "source": "Tianjin 2016 employees' large-amount fund and basic medical insurance (天津市职工大额医疗费用补助、基本医疗保险, 2016; the pharmacy ratio from 2017): published local documents as DESIGN.md §4.3 summarises them, which gives no document name or number.",
  "notes": "From the source: the large-amount fund pays 80 % of the year's in-scope cost (政策范围内费用) between 150,000 and 350,000 yuan (nothing above). The source gives employees' pharmacy ratio (65 %) from 2017 only: this version, for 2016, pays 50 % (assumed, the national default's pharmacy ratio); version 2017 follows it. Chosen: the large-amount fund counts inpatient and chronic outpatient care; the 150,000-yuan pooling ceiling counts the same kinds. Inpatient deductibles 1,000/800/500 yuan, ratios 85/88/90 % (tertiary/secondary/other, +3 points retired), the ceiling, general outpatient 800 yuan deductible, 50 %, cap 4,000 yuan, chronic outpatient 75 % capped at 12,000 yuan and the pharmacy cap of 1,500 yuan are the previous seed file's, assumed. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient.deductibles",
    "inpatient.bands",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy.bands[0].segments[0].ratio",
    "pharmacy.annual_cap_fen",
    "temporary_reduction",
    "layers[0].counts",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2016-01-01",
  "end_date": "2016-12-31",
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 15000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 50000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.91"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.93"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 80000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 400000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.75"
          }
        ]
      }
    ],
    "annual_cap_fen": 1200000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 150000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_cost",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 15000000,
          "to_fen": 35000000,
          "ratio": "0.80"
        }
      ],
      "annual_cap_fen": null
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "120000",
  "insutype": "310",
  "scheme": "employee",
  "version": "2017",
  "title": "天津市职工基本医疗保险及大额医疗费用补助（2017）",
  "source": "Tianjin 2016 employees' large-amount fund and basic medical insurance (天津市职工大额医疗费用补助、基本医疗保险, 2016; the pharmacy ratio from 2017): published local documents as DESIGN.md §4.3 summarises them, which gives no document name or number.",
  "notes": "From the source: the large-amount fund pays 80 % of the year's in-scope cost (政策范围内费用) between 150,000 and 350,000 yuan (nothing above). Pharmacy 65 % from 2017, as the source says; otherwise the same as version 2016, which ends on 2016-12-31. Chosen: the large-amount fund counts inpatient and chronic outpatient care; the 150,000-yuan pooling ceiling counts the same kinds. Inpatient deductibles 1,000/800/500 yuan, ratios 85/88/90 % (tertiary/secondary/other, +3 points retired), the ceiling, general outpatient 800 yuan deductible, 50 %, cap 4,000 yuan, chronic outpatient 75 % capped at 12,000 yuan and the pharmacy cap of 1,500 yuan are the previous seed file's, assumed. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "ceilings[0]",
    "inpatient.deductibles",
    "inpatient.bands",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy.annual_cap_fen",
    "temporary_reduction",
    "layers[0].counts",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2017-01-01",
  "end_date": null,
  "ceilings": [
    {
      "name": "pooling",
      "kinds": [
        "inpatient",
        "chronic_outpatient"
      ],
      "annual_cap_fen": 15000000
    }
  ],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 80000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 50000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      },
      {
        "hospital_level": "tertiary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.88"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.91"
          }
        ]
      },
      {
        "retired": false,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.90"
          }
        ]
      },
      {
        "retired": true,
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.93"
          }
        ]
      }
    ],
    "annual_cap_fen": null
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 80000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 400000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.75"
          }
        ]
      }
    ],
    "annual_cap_fen": 1200000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.65"
          }
        ]
      }
    ],
    "annual_cap_fen": 150000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "large_amount",
      "fund": "large_amount",
      "base": "inscp_cost",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 15000000,
          "to_fen": 35000000,
          "ratio": "0.80"
        }
      ],
      "annual_cap_fen": null
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$,
$policy${
  "kind": "policy",
  "region": "140000",
  "insutype": "390",
  "scheme": "resident",
  "version": "2017-07",
  "title": "山西省城乡居民基本医疗保险（2017 年 7 月起）",
  "source": "Shanxi 2017 residents (山西省城乡居民基本医疗保险, 2017), in force 2017-07-01: a published local document as DESIGN.md §4.3 summarises it, which gives no document name or number.",
  "notes": "From the source: the pooling fund's inpatient payments are capped at 70,000 yuan a year (inpatient.annual_cap_fen; there is no ceiling over all care, so outpatient care is still paid after it is reached); the second and later admissions of a year have half the deductible (deductibles[0–2], before the general rules [3–5]). Assumed (the previous seed file's): first-admission deductibles 1,000/600/300 yuan (tertiary/secondary/other) — so 500/300/150 yuan from the second admission —, ratios 55/70/85 %, general outpatient 100 yuan deductible, 50 %, cap 500 yuan, chronic outpatient 60 % capped at 5,000 yuan, pharmacy 50 % capped at 500 yuan, serious illness 60 % of the in-scope self-burden of inpatient and chronic outpatient care above 15,000 yuan a year, at most 300,000 yuan. Temporary filings: DESIGN.md §4.3's default reduction (−10 points referral/emergency, −20 points other), assumed. Medical assistance: the 2021 national opinions on major and serious diseases (DESIGN.md §4.3) give 特困 (extreme_poverty) and 低保 (low_income) persons no deductible and a ratio of at least 70 %, encoded at that floor; the 低保边缘 (low_income_margin) terms (1,000 yuan a year, 60 %), the kinds counted (inpatient and chronic outpatient) and the shared annual limit (30,000 yuan) are assumed, as in the national default. The opinions are of 2021 and stand here for the assistance the region gives now, whatever the policy's own date.",
  "assumed": [
    "inpatient.deductibles",
    "inpatient.bands",
    "general_outpatient",
    "chronic_outpatient",
    "pharmacy",
    "temporary_reduction",
    "layers[0]",
    "assistance.categories[2]",
    "assistance.counts",
    "assistance.annual_limit_fen"
  ],
  "begin_date": "2017-07-01",
  "end_date": null,
  "ceilings": [],
  "inpatient": {
    "deductible_per": "admission",
    "deductibles": [
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 2,
        "amount_fen": 50000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 2,
        "amount_fen": 30000
      },
      {
        "from_nth_admission": 2,
        "amount_fen": 15000
      },
      {
        "hospital_level": "tertiary",
        "from_nth_admission": 1,
        "amount_fen": 100000
      },
      {
        "hospital_level": "secondary",
        "from_nth_admission": 1,
        "amount_fen": 60000
      },
      {
        "from_nth_admission": 1,
        "amount_fen": 30000
      }
    ],
    "bands": [
      {
        "hospital_level": "tertiary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.55"
          }
        ]
      },
      {
        "hospital_level": "secondary",
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.70"
          }
        ]
      },
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.85"
          }
        ]
      }
    ],
    "annual_cap_fen": 7000000
  },
  "general_outpatient": {
    "deductible_per": "year",
    "deductibles": [
      {
        "from_nth_admission": 1,
        "amount_fen": 10000
      }
    ],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 50000
  },
  "chronic_outpatient": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.60"
          }
        ]
      }
    ],
    "annual_cap_fen": 500000
  },
  "pharmacy": {
    "deductible_per": "year",
    "deductibles": [],
    "bands": [
      {
        "segments": [
          {
            "from_fen": 0,
            "to_fen": null,
            "ratio": "0.50"
          }
        ]
      }
    ],
    "annual_cap_fen": 50000
  },
  "temporary_reduction": {
    "referral_emergency": "0.10",
    "other": "0.20"
  },
  "category_adjustments": [],
  "layers": [
    {
      "name": "serious_illness",
      "fund": "serious_illness",
      "base": "inscp_self_burden",
      "counts": [
        "inpatient",
        "chronic_outpatient"
      ],
      "segments": [
        {
          "from_fen": 1500000,
          "to_fen": null,
          "ratio": "0.60"
        }
      ],
      "annual_cap_fen": 30000000
    }
  ],
  "assistance": {
    "categories": [
      {
        "category": "extreme_poverty",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income",
        "deductible_fen": 0,
        "ratio": "0.70"
      },
      {
        "category": "low_income_margin",
        "deductible_fen": 100000,
        "ratio": "0.60"
      }
    ],
    "counts": [
      "inpatient",
      "chronic_outpatient"
    ],
    "annual_limit_fen": 3000000
  }
}$policy$
      ]) WITH ORDINALITY AS u(t, n)) s
ORDER BY n;
INSERT INTO policy_audit (at, actor, action, policy_id, sha256, details)
SELECT published_at, 'seed', 'publish', policy_id, sha256, jsonb_build_object('label', label) FROM policy_documents;
