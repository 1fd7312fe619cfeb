/*
 * test_metrics.c — reconnu-eval's partition scoring (tools/eval/metrics.c)
 * on hand-made partitions whose pairwise and B-cubed figures are worked
 * out below, and the name-script detection of tools/eval/dataset.c.
 */
#include "dataset.h"
#include "metrics.h"
#include "unit.h"

#include <math.h>
#include <unicode/uscript.h>

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_perfect(void)
{
	uint64_t truth[] = {1, 1, 2, 3, 3, 3};
	uint64_t pred[] = {9, 9, 8, 7, 7, 7};
	struct metrics m;
	ok(metrics_score(6, truth, pred, NULL, &m) == 0, "perfect: scored");
	is_int(m.pairs.tp, 4, "perfect: TP = 1 + 3");
	is_int(m.pairs.fp + m.pairs.fn, 0, "perfect: no FP, no FN");
	is_int(m.tn, 15 - 4, "perfect: TN = C(6,2) - TP");
	ok(near(m.pairs.f1, 1) && near(m.b3_f1, 1), "perfect: F1 = B3 = 1");
	is_int(m.true_clusters, 3, "perfect: 3 true clusters");
	is_int(m.exact_clusters, 3, "perfect: all reproduced exactly");
	is_int(m.true_multi, 2, "perfect: 2 true clusters of 2+");
	is_int(m.exact_multi, 2, "perfect: both reproduced");
}

/* truth {1,1,1,2,2}, pred {A,A,B,B,B}: cells (A,1)=2 (B,1)=1 (B,2)=2.
 * TP = 1 + 0 + 1 = 2, predicted pairs 1 + 3 = 4, true pairs 3 + 1 = 4.
 * B3 precision = (2·2/2 + 1/3 + 2·2/3) / 5 = 11/15, recall the same. */
static void test_split_and_merge(void)
{
	uint64_t truth[] = {1, 1, 1, 2, 2};
	uint64_t pred[] = {10, 10, 11, 11, 11};
	struct metrics m;
	ok(metrics_score(5, truth, pred, NULL, &m) == 0, "mixed: scored");
	is_int(m.pairs.tp, 2, "mixed: TP");
	is_int(m.pairs.fp, 2, "mixed: FP");
	is_int(m.pairs.fn, 2, "mixed: FN");
	ok(near(m.pairs.precision, 0.5) && near(m.pairs.recall, 0.5),
	   "mixed: P = R = 0.5");
	ok(near(m.b3_precision, 11.0 / 15) && near(m.b3_recall, 11.0 / 15),
	   "mixed: B3 P = R = 11/15");
	ok(near(m.b3_f1, 11.0 / 15), "mixed: B3 F1");
	is_int(m.exact_clusters, 0, "mixed: nothing reproduced exactly");
	is_int(m.pred_clusters, 2, "mixed: 2 predicted clusters");
}

/* Everything apart: no predicted pair (precision 1 by convention), recall
 * 0; B3 recall = (1/2 + 1/2 + 1) / 3. One cluster: precision 2/6. */
static void test_extremes(void)
{
	uint64_t truth[] = {1, 1, 2, 2};
	uint64_t apart[] = {1, 2, 3, 4}, one[] = {5, 5, 5, 5};
	struct metrics m;
	metrics_score(3, truth, apart, NULL, &m);
	ok(near(m.pairs.precision, 1) && near(m.pairs.recall, 0) &&
	       near(m.pairs.f1, 0),
	   "apart: P 1, R 0, F1 0");
	ok(near(m.b3_precision, 1) && near(m.b3_recall, 2.0 / 3),
	   "apart: B3 P 1, R 2/3");
	is_int(m.exact_clusters, 1, "apart: the singleton is exact");
	metrics_score(4, truth, one, NULL, &m);
	ok(near(m.pairs.precision, 2.0 / 6) && near(m.pairs.recall, 1),
	   "one cluster: P 1/3, R 1");
	ok(near(m.b3_precision, 0.5) && near(m.b3_recall, 1),
	   "one cluster: B3 P 0.5, R 1");
	ok(metrics_score(0, NULL, NULL, NULL, &m) == 0 && m.n == 0 &&
	       near(m.pairs.f1, 1),
	   "empty input: nothing wrong");
}

/* Scripts L, C, L, ? in one true class: two-script true pairs are (0,1)
 * and (1,2); record 3 has no name script and counts in none. */
static void test_cross_script(void)
{
	uint64_t truth[] = {1, 1, 1, 1, 2};
	int32_t script[] = {USCRIPT_LATIN, USCRIPT_CYRILLIC, USCRIPT_LATIN, -1,
			    USCRIPT_HAN};
	uint64_t all[] = {7, 7, 7, 7, 8};
	uint64_t part[] = {7, 7, 8, 8, 7};
	struct metrics m;
	metrics_score(5, truth, all, script, &m);
	is_int(m.cross.tp + m.cross.fn, 2, "two-script: 2 true pairs");
	is_int(m.cross.tp, 2, "two-script: both found");
	is_int(m.cross.fp, 0, "two-script: no false pair");
	metrics_score(5, truth, part, script, &m);
	is_int(m.cross.tp, 1, "two-script: (0,1) found");
	is_int(m.cross.fn, 1, "two-script: (1,2) missed");
	is_int(m.cross.fp, 2, "two-script: Han record wrongly with 0 and 1");
	ok(near(m.cross.precision, 1.0 / 3) && near(m.cross.recall, 0.5),
	   "two-script: P 1/3, R 1/2");
	metrics_score(5, truth, part, NULL, &m);
	is_int(m.cross.tp + m.cross.fp + m.cross.fn, 0,
	       "no scripts given: no two-script pair");
}

static void test_name_script(void)
{
	reconnu_record r = {.given_name = "Иван", .family_name = "Petrov"};
	is_int(dataset_name_script(&r), USCRIPT_CYRILLIC,
	       "script: Cyrillic given name");
	r = (reconnu_record){.given_name = "-", .family_name = "王"};
	is_int(dataset_name_script(&r), USCRIPT_HAN,
	       "script: punctuation skipped, Han family name");
	r = (reconnu_record){.full_name = "김민준"};
	is_int(dataset_name_script(&r), USCRIPT_HANGUL,
	       "script: Hangul full name");
	r = (reconnu_record){.given_name = "Élodie"};
	is_int(dataset_name_script(&r), USCRIPT_LATIN, "script: Latin");
	r = (reconnu_record){.given_name = "12", .family_name = ""};
	is_int(dataset_name_script(&r), DATASET_NO_SCRIPT, "script: none");
	is_str(dataset_script_name(USCRIPT_CYRILLIC), "Cyrillic",
	       "script name");
}

int main(void)
{
	unit_plan_begin();
	test_perfect();
	test_split_and_merge();
	test_extremes();
	test_cross_script();
	test_name_script();
	return unit_done();
}
