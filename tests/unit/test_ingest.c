/*
 * test_ingest.c — CSV / JSONL rows to records through a column mapping:
 * quoting, CRLF, trimming, joins, positional columns, JSONL, bad rows with
 * their line numbers, mapping errors.
 */
#include "ingest.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test_ingest.XXXXXX";

/** Writes text (len bytes) to tmpdir/name; returns the path (static). */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	fwrite(text, 1, strlen(text), f);
	fclose(f);
	return path;
}

static struct ingest_mapping *mapping(const char *spec)
{
	struct ingest_mapping *m = ingest_mapping_new();
	if (spec != NULL && ingest_mapping_add(m, spec) != 0)
		printf("# mapping: %s\n", ingest_last_error());
	return m;
}

static void test_febrl_like(void)
{
	/* a space after each comma, CRLF, no final newline */
	const char *path = write_file(
	    "febrl.csv",
	    "rec_id, given_name, surname, street_number, address_1, "
	    "suburb, date_of_birth, soc_sec_id\r\n"
	    "rec-1-org, lachlan, berry, 69, giblin street, bittern, "
	    "19990219, 7364009\r\n"
	    "rec-1-dup-0, , berry, , giblin street, , 19990219, 7364009");
	struct ingest_mapping *m =
	    mapping("given_name=given_name,family_name=surname,"
		    "address_line1=street_number+address_1,city=suburb,"
		    "birth_date=date_of_birth,identifier:ssn=soc_sec_id,"
		    "country='AU'");
	ok(ingest_mapping_set_id(m, "rec_id") == 0, "set_id");
	ok(ingest_mapping_set_truth(m, "rec_id") == 0, "set_truth");
	ok(ingest_mapping_set_source(m, "febrl") == 0, "set_source");
	struct ingest_reader *r = ingest_open(path, m, INGEST_AUTO);
	ingest_mapping_delete(m); /* the reader keeps its own copy */
	ok(r != NULL, "open febrl-like CSV");
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "row 1");
	is_str(rec->source, "febrl", "constant source");
	is_str(rec->source_id, "rec-1-org", "id");
	is_str(truth, "rec-1-org", "truth");
	is_str(rec->given_name, "lachlan", "trimmed given name");
	is_str(rec->family_name, "berry", "family name");
	is_int(rec->n_addresses, 1, "one address");
	is_str(rec->addresses[0].line1, "69 giblin street", "'+' joins");
	is_str(rec->addresses[0].city, "bittern", "city");
	is_str(rec->birth_date, "19990219", "birth date");
	is_int(rec->n_identifiers, 1, "one identifier");
	is_str(rec->identifiers[0].type, "ssn", "identifier type");
	is_str(rec->identifiers[0].value, "7364009", "identifier value");
	is_str(rec->country, "AU", "constant country");
	is_int(ingest_line(r), 2, "line of row 1");
	is_int(ingest_next(r, &rec, &truth), 1, "row 2 without final newline");
	ok(rec->given_name == NULL, "empty = absent");
	is_str(rec->addresses[0].line1, "giblin street", "'+' skips empty");
	ok(rec->addresses[0].city == NULL, "empty city absent");
	is_str(rec->identifiers[0].value, "7364009", "last field, no newline");
	is_int(ingest_next(r, &rec, &truth), 0, "EOF");
	is_int(ingest_rows(r), 2, "two rows");
	ingest_close(r);
}

static void test_quotes_and_joins(void)
{
	const char *path = write_file(
	    "rl.csv",
	    "\xEF\xBB\xBF\"rec_id\",\"fname_c1\",\"fname_c2\",\"lname_c1\","
	    "\"by\",\"bm\",\"bd\",\"note\"\n"
	    "1,\"KARL\",\"HEINZ\",\"MUELLER\",1967,9,7,\"a, \"\"b\"\"\"\n"
	    "2,\"ANNA\",,\"SCHMIDT\",1970,12,,\"two\nlines\"\n"
	    "3,\"EVA\",,\"BAUER\",1980,,,x\n");
	struct ingest_mapping *m =
	    mapping("given_name=fname_c1+fname_c2,family_name=lname_c1,"
		    "birth_date=by-bm-bd,attr:note=note,truth=rec_id");
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	ingest_mapping_delete(m);
	ok(r != NULL, "open quoted CSV with BOM");
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "row 1");
	is_str(rec->given_name, "KARL HEINZ", "given names joined by space");
	is_str(rec->birth_date, "1967-09-07", "date joined, zero-padded");
	is_str(rec->attributes[0].key, "note", "attr key");
	is_str(rec->attributes[0].value, "a, \"b\"", "quoted comma and quotes");
	is_str(rec->source, "rl", "default source = file name");
	is_str(rec->source_id, "1", "default source_id = row number");
	is_int(ingest_next(r, &rec, &truth), 1, "row 2");
	is_str(rec->given_name, "ANNA", "join skips empty");
	is_str(rec->birth_date, "1970-12", "'-' join stops at empty day");
	is_str(rec->attributes[0].value, "two\nlines", "embedded newline");
	is_int(ingest_line(r), 3, "row 2 starts on line 3");
	is_int(ingest_next(r, &rec, &truth), 1, "row 3");
	is_str(rec->birth_date, "1980", "year only");
	is_str(truth, "3", "truth column");
	is_int(ingest_line(r), 5, "row 3 on line 5 after a 2-line row");
	is_int(ingest_next(r, &rec, &truth), 0, "EOF");
	ingest_close(r);
}

static void test_positional(void)
{
	/* NCVR ocp_0: a wrong wide header over 5-field rows */
	const char *path = write_file(
	    "ncvr.csv", "rec_id,voter_reg_num,name_prefix,"
			"first_name,middle_name,last_name\n"
			"07546882,kaitlyn,pollick,fayetteville,28304\n"
			"03274759,lee,venable,raleigh,27615\n"
			"0999,short\n");
	struct ingest_mapping *m =
	    mapping("truth=#1,given_name=#2,family_name=#3,city=#4,"
		    "postcode=#5,country='US'");
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	ok(r != NULL, "open by position");
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "row 1");
	is_str(truth, "07546882", "#1 truth keeps leading zero");
	is_str(rec->given_name, "kaitlyn", "#2");
	is_str(rec->addresses[0].postcode, "28304", "#5");
	is_str(rec->country, "US", "literal");
	is_int(ingest_next(r, &rec, &truth), 1, "row 2");
	is_str(rec->family_name, "venable", "#3");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "short row rejected");
	ok(strstr(ingest_last_error(), "ncvr.csv:4:") != NULL,
	   "message names line 4");
	is_int(ingest_next(r, &rec, &truth), 0, "EOF after bad row");
	ingest_close(r);

	/* headerless */
	path = write_file("nohdr.csv", "a,b\nc,d\n");
	ingest_mapping_delete(m);
	m = mapping("given_name=#2");
	ingest_mapping_set_header(m, 0);
	r = ingest_open(path, m, INGEST_CSV);
	is_int(ingest_next(r, &rec, &truth), 1, "headerless row 1");
	is_str(rec->given_name, "b", "first line is data");
	is_int(ingest_line(r), 1, "line 1");
	ok(truth == NULL, "no truth mapped");
	ingest_close(r);
	ingest_mapping_delete(m);
	m = mapping("given_name=name");
	ingest_mapping_set_header(m, 0);
	ok(ingest_open(path, m, INGEST_CSV) == NULL,
	   "names without a header refused");
	ingest_mapping_delete(m);
}

static void test_bad_rows(void)
{
	const char *path = write_file("bad.csv", "id,name,email,email2\n"
						 "1,ann,a@x.org,a2@x.org\n"
						 "2,bob\n"
						 "3,c\"arl,c@x.org,\n"
						 "4,dan,d@x.org,\n"
						 "5,\"eve,e@x.org,\n");
	struct ingest_mapping *m =
	    mapping("source_id=id,given_name=name,email=email,email=email2");
	ingest_mapping_set_source(m, "crm");
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	ingest_mapping_delete(m);
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "row 1");
	is_int(rec->n_emails, 2, "repeated email adds list items");
	is_str(rec->emails[1], "a2@x.org", "second email");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "too few fields");
	ok(strstr(ingest_last_error(), "bad.csv:3:") != NULL,
	   "field count error at line 3");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "stray quote");
	ok(strstr(ingest_last_error(), "bad.csv:4:") != NULL,
	   "quote error at line 4");
	is_int(ingest_next(r, &rec, &truth), 1, "reading resumes");
	is_str(rec->source_id, "4", "row after the bad ones");
	is_int(rec->n_emails, 1, "empty second email skipped");
	is_int(ingest_next(r, &rec, &truth), INGEST_EPARSE,
	       "unterminated quote ends reading");
	ok(strstr(ingest_last_error(), "bad.csv:6:") != NULL,
	   "unterminated quote reported at its line");
	is_int(ingest_next(r, &rec, &truth), INGEST_EPARSE, "error is sticky");
	ingest_close(r);
}

static void test_jsonl(void)
{
	const char *path = write_file(
	    "people.jsonl",
	    "{\"id\": 17, \"first\": \" Ann \", \"last\": \"Lee\", "
	    "\"mail\": [\"a@x.org\", \"b@x.org\"], \"dob\": null, "
	    "\"sex\": \"female\", \"ts\": \"2024-01-02T03:04:05Z\", "
	    "\"optin\": true, \"cluster\": 4}\n"
	    "\n"
	    "{\"id\": 18, \"first\": \"Bo\", \"mail\": \"bo@x.org\", "
	    "\"ts\": 1700000000000, \"optin\": \"no\"}\n"
	    "{\"id\": 19, \"first\": \n"
	    "[1, 2]\n"
	    "{\"id\": 20, \"first\": {\"x\": 1}}\n"
	    "{\"id\": 21, \"ts\": \"yesterday\"}\n"
	    "{\"id\": 22}");
	struct ingest_mapping *m = mapping(
	    "source_id=id,given_name=first,family_name=last,email=mail,"
	    "birth_date=dob,gender=sex,updated_at=ts,consent:email=optin");
	ingest_mapping_set_truth(m, "cluster");
	struct ingest_reader *r = ingest_open(path, m, INGEST_AUTO);
	ok(r != NULL, "open JSONL by extension");
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "object 1");
	is_str(rec->source_id, "17", "number as text");
	is_str(rec->given_name, "Ann", "string trimmed");
	is_int(rec->n_emails, 2, "array of emails");
	is_str(rec->emails[1], "b@x.org", "second email");
	ok(rec->birth_date == NULL, "null = absent");
	is_str(rec->gender, "F", "gender normalised");
	is_int(rec->updated_at, 1704164645000LL, "ISO 8601 to unix ms");
	is_int(rec->n_consents, 1, "consent");
	is_int(rec->consents[0].granted, 1, "consent granted");
	is_int(rec->consents[0].at, rec->updated_at, "consent at updated_at");
	is_str(rec->consents[0].channel, "email", "consent channel");
	is_str(truth, "4", "truth");
	is_str(rec->source, "people", "default source");
	is_int(ingest_next(r, &rec, &truth), 1, "object 2 after blank line");
	is_int(ingest_line(r), 3, "line 3");
	is_int(rec->n_emails, 1, "single email");
	is_int(rec->updated_at, 1700000000000LL, "unix ms");
	is_int(rec->consents[0].granted, 0, "consent refused");
	ok(truth == NULL, "no truth in this object");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "broken JSON");
	ok(strstr(ingest_last_error(), "people.jsonl:4:") != NULL,
	   "JSON error at line 4");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "not an object");
	ok(strstr(ingest_last_error(), ":5:") != NULL, "line 5");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "object value");
	ok(strstr(ingest_last_error(), ":6:") != NULL, "line 6");
	is_int(ingest_next(r, &rec, &truth), INGEST_EROW, "bad timestamp");
	ok(strstr(ingest_last_error(), ":7: updated_at") != NULL, "line 7");
	is_int(ingest_next(r, &rec, &truth), 1, "last object, no newline");
	is_str(rec->source_id, "22", "id 22");
	is_int(ingest_next(r, &rec, &truth), 0, "EOF");
	ingest_close(r);
	ingest_mapping_add(m, "city=#2");
	ok(ingest_open(path, m, INGEST_JSONL) == NULL, "#N refused for JSONL");
	ingest_mapping_delete(m);
}

static void test_auto_mapping(void)
{
	const char *path = write_file(
	    "dg.csv",
	    "source,source_id,given_name,family_name,birth_date,gender,"
	    "email,phone,address_line1,city,postcode,country,loyalty_id,"
	    "updated_at,consent_email,person_id\n"
	    "shop,42,jean,dupont,1980-02-03,M,j@d.fr,+33612345678,"
	    "12 rue de la paix,paris,75002,FR,L9,2023-05-06,1,p7\n");
	struct ingest_mapping *m = ingest_mapping_new();
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	reconnu_record *rec;
	const char *truth;
	is_int(ingest_next(r, &rec, &truth), 1, "auto-mapped row");
	is_str(rec->source, "shop", "source column");
	is_str(rec->source_id, "42", "source_id column");
	is_str(rec->phones[0], "+33612345678", "phone");
	is_str(rec->addresses[0].city, "paris", "city");
	is_str(rec->country, "FR", "country");
	is_int(rec->n_identifiers, 0, "loyalty_id is not a field name");
	ingest_close(r);
	ingest_mapping_set_truth(m, "person_id");
	ingest_mapping_add(m, "identifier:loyalty=loyalty_id,"
			      "consent:email=consent_email,source_id=source_id,"
			      "source=source,given_name=given_name");
	r = ingest_open(path, m, INGEST_CSV);
	is_int(ingest_next(r, &rec, &truth), 1, "explicit mapping row");
	is_str(truth, "p7", "truth");
	is_str(rec->identifiers[0].type, "loyalty", "identifier:loyalty");
	ok(rec->family_name == NULL, "explicit mapping turns auto off");
	is_int(rec->consents[0].granted, 1, "consent:email");
	ingest_close(r);
	ingest_mapping_delete(m);
}

static void test_mapping_errors(void)
{
	struct ingest_mapping *m = ingest_mapping_new();
	is_int(ingest_mapping_add(m, "nickname=x"), INGEST_EINVAL,
	       "unknown field");
	ok(strstr(ingest_last_error(), "nickname") != NULL, "names it");
	is_int(ingest_mapping_add(m, "given_name"), INGEST_EINVAL, "no '='");
	is_int(ingest_mapping_add(m, "birth_date=a+b-c"), INGEST_EINVAL,
	       "mixed joiners");
	is_int(ingest_mapping_add(m, "identifier:=x"), INGEST_EINVAL,
	       "keyed field without key");
	is_int(ingest_mapping_add(m, "city=#0"), INGEST_EINVAL, "#0");
	is_int(ingest_mapping_add(m, "city=a,city=b"), INGEST_EINVAL,
	       "field twice");
	is_int(ingest_mapping_add(m, "city=a,given_name=b"), 0, "two fields");
	is_int(ingest_mapping_add(m, "given_name=c,postcode=p"), INGEST_EINVAL,
	       "twice across calls");
	is_int(ingest_mapping_add(m, "email=e,email=f,attr:a=x,attr:b=y"), 0,
	       "repeatable and keyed fields");
	const char *path = write_file("hdr.csv", "a,b,e,f,x\n1,2,3,4,5\n");
	ok(ingest_open(path, m, INGEST_CSV) == NULL, "missing column y");
	ok(strstr(ingest_last_error(), "'y'") != NULL, "names the column");
	ok(ingest_open("/nonexistent/x.csv", m, INGEST_CSV) == NULL,
	   "missing file");
	ingest_mapping_delete(m);

	/* a column whose name holds '-' is matched whole first */
	path = write_file("dash.csv", "e-mail,id\nq@x.org,1\n");
	m = mapping("email=e-mail");
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	reconnu_record *rec;
	is_int(ingest_next(r, &rec, NULL), 1, "row");
	is_str(rec->emails[0], "q@x.org", "dashed column name");
	ingest_close(r);
	is_int(ingest_mapping_set_source(m, "pos-paris+1"), 0, "source '-'");
	r = ingest_open(path, m, INGEST_CSV);
	is_int(ingest_next(r, &rec, NULL), 1, "row");
	is_str(rec->source, "pos-paris+1", "constant source is not split");
	ingest_close(r);
	is_int(ingest_mapping_set_source(m, "o'brien"), INGEST_EINVAL,
	       "quote in source name refused");
	ingest_mapping_delete(m);
}

static void test_empty_file(void)
{
	const char *path = write_file("empty.csv", "");
	struct ingest_mapping *m = mapping("given_name=name");
	struct ingest_reader *r = ingest_open(path, m, INGEST_CSV);
	reconnu_record *rec;
	ok(r != NULL, "empty file opens");
	is_int(ingest_next(r, &rec, NULL), 0, "and is at EOF");
	ingest_close(r);
	ingest_mapping_delete(m);
}

int main(void)
{
	unit_plan_begin();
	if (mkdtemp(tmpdir) == NULL) {
		ok(0, "mkdtemp");
		return unit_done();
	}
	test_febrl_like();
	test_quotes_and_joins();
	test_positional();
	test_bad_rows();
	test_jsonl();
	test_auto_mapping();
	test_mapping_errors();
	test_empty_file();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return unit_done();
}
