/*
 * tables.c — built-in reference data of reconnu-datagen (see datagen.h).
 *
 * Written for this tool: common names per culture (most frequent first,
 * so "martin", "smith", "müller", "wang", "kim" dominate as they do in
 * real customer files), native-script pairs for Russian, Chinese and
 * Korean names, and for each country a handful of real cities with
 * plausible postcodes and landline area codes. Phone numbering follows
 * each national plan (lengths, trunk prefix, usual grouping).
 */
#include "datagen.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ----------------------------------------------------------- */

static const struct dg_name fr_given[] = {
    {"jean", 0, 'M'},	   {"marie", 0, 'F'},	    {"pierre", 0, 'M'},
    {"nathalie", 0, 'F'},  {"michel", 0, 'M'},	    {"isabelle", 0, 'F'},
    {"philippe", 0, 'M'},  {"sylvie", 0, 'F'},	    {"nicolas", 0, 'M'},
    {"catherine", 0, 'F'}, {"françois", 0, 'M'},    {"hélène", 0, 'F'},
    {"frédéric", 0, 'M'},  {"céline", 0, 'F'},	    {"christophe", 0, 'M'},
    {"camille", 0, 'F'},   {"jean-pierre", 0, 'M'}, {"marie-claire", 0, 'F'},
    {"guillaume", 0, 'M'}, {"élodie", 0, 'F'},	    {"dominique", 0, 'U'},
    {"léa", 0, 'F'},	   {"théo", 0, 'M'},	    {"chloé", 0, 'F'},
};
static const struct dg_name fr_family[] = {
    {"martin", 0, 'U'},	  {"bernard", 0, 'U'},	{"dubois", 0, 'U'},
    {"thomas", 0, 'U'},	  {"robert", 0, 'U'},	{"richard", 0, 'U'},
    {"petit", 0, 'U'},	  {"durand", 0, 'U'},	{"leroy", 0, 'U'},
    {"moreau", 0, 'U'},	  {"simon", 0, 'U'},	{"laurent", 0, 'U'},
    {"lefèvre", 0, 'U'},  {"michel", 0, 'U'},	{"garcia", 0, 'U'},
    {"david", 0, 'U'},	  {"bertrand", 0, 'U'}, {"roux", 0, 'U'},
    {"fontaine", 0, 'U'}, {"girard", 0, 'U'},	{"da silva", 0, 'U'},
    {"le gall", 0, 'U'},  {"n'diaye", 0, 'U'},	{"bénard", 0, 'U'},
};

static const struct dg_name en_given[] = {
    {"james", 0, 'M'},	   {"mary", 0, 'F'},	    {"john", 0, 'M'},
    {"elizabeth", 0, 'F'}, {"robert", 0, 'M'},	    {"patricia", 0, 'F'},
    {"michael", 0, 'M'},   {"jennifer", 0, 'F'},    {"william", 0, 'M'},
    {"margaret", 0, 'F'},  {"david", 0, 'M'},	    {"sarah", 0, 'F'},
    {"richard", 0, 'M'},   {"katherine", 0, 'F'},   {"thomas", 0, 'M'},
    {"emily", 0, 'F'},	   {"christopher", 0, 'M'}, {"jessica", 0, 'F'},
    {"daniel", 0, 'M'},	   {"rebecca", 0, 'F'},	    {"matthew", 0, 'M'},
    {"olivia", 0, 'F'},	   {"edward", 0, 'M'},	    {"samantha", 0, 'F'},
};
static const struct dg_name en_family[] = {
    {"smith", 0, 'U'},	 {"jones", 0, 'U'},    {"williams", 0, 'U'},
    {"brown", 0, 'U'},	 {"taylor", 0, 'U'},   {"johnson", 0, 'U'},
    {"davies", 0, 'U'},	 {"miller", 0, 'U'},   {"wilson", 0, 'U'},
    {"evans", 0, 'U'},	 {"thomas", 0, 'U'},   {"roberts", 0, 'U'},
    {"walker", 0, 'U'},	 {"wright", 0, 'U'},   {"thompson", 0, 'U'},
    {"white", 0, 'U'},	 {"o'brien", 0, 'U'},  {"hughes", 0, 'U'},
    {"edwards", 0, 'U'}, {"green", 0, 'U'},    {"clarke", 0, 'U'},
    {"jackson", 0, 'U'}, {"mcdonald", 0, 'U'}, {"harris", 0, 'U'},
};

static const struct dg_name de_given[] = {
    {"thomas", 0, 'M'},	    {"sabine", 0, 'F'},	   {"michael", 0, 'M'},
    {"susanne", 0, 'F'},    {"andreas", 0, 'M'},   {"petra", 0, 'F'},
    {"stefan", 0, 'M'},	    {"claudia", 0, 'F'},   {"wolfgang", 0, 'M'},
    {"monika", 0, 'F'},	    {"klaus", 0, 'M'},	   {"ursula", 0, 'F'},
    {"jürgen", 0, 'M'},	    {"katharina", 0, 'F'}, {"johann", 0, 'M'},
    {"margarete", 0, 'F'},  {"friedrich", 0, 'M'}, {"anna", 0, 'F'},
    {"maximilian", 0, 'M'}, {"lena", 0, 'F'},	   {"lukas", 0, 'M'},
    {"jörg", 0, 'M'},
};
static const struct dg_name de_family[] = {
    {"müller", 0, 'U'},	       {"schmidt", 0, 'U'},    {"schneider", 0, 'U'},
    {"fischer", 0, 'U'},       {"weber", 0, 'U'},      {"meyer", 0, 'U'},
    {"wagner", 0, 'U'},	       {"becker", 0, 'U'},     {"schulz", 0, 'U'},
    {"hoffmann", 0, 'U'},      {"schäfer", 0, 'U'},    {"koch", 0, 'U'},
    {"bauer", 0, 'U'},	       {"richter", 0, 'U'},    {"klein", 0, 'U'},
    {"wolf", 0, 'U'},	       {"schröder", 0, 'U'},   {"neumann", 0, 'U'},
    {"schwarz", 0, 'U'},       {"zimmermann", 0, 'U'}, {"groß", 0, 'U'},
    {"von der heide", 0, 'U'},
};

static const struct dg_name it_given[] = {
    {"giuseppe", 0, 'M'},   {"maria", 0, 'F'},	   {"giovanni", 0, 'M'},
    {"anna", 0, 'F'},	    {"antonio", 0, 'M'},   {"giulia", 0, 'F'},
    {"mario", 0, 'M'},	    {"francesca", 0, 'F'}, {"francesco", 0, 'M'},
    {"chiara", 0, 'F'},	    {"luigi", 0, 'M'},	   {"sara", 0, 'F'},
    {"alessandro", 0, 'M'}, {"valentina", 0, 'F'}, {"marco", 0, 'M'},
    {"alessia", 0, 'F'},    {"andrea", 0, 'M'},	   {"elena", 0, 'F'},
    {"matteo", 0, 'M'},	    {"federica", 0, 'F'},  {"niccolò", 0, 'M'},
    {"lucia", 0, 'F'},
};
static const struct dg_name it_family[] = {
    {"rossi", 0, 'U'},	  {"russo", 0, 'U'},	{"ferrari", 0, 'U'},
    {"esposito", 0, 'U'}, {"bianchi", 0, 'U'},	{"romano", 0, 'U'},
    {"colombo", 0, 'U'},  {"ricci", 0, 'U'},	{"marino", 0, 'U'},
    {"greco", 0, 'U'},	  {"bruno", 0, 'U'},	{"gallo", 0, 'U'},
    {"conti", 0, 'U'},	  {"de luca", 0, 'U'},	{"mancini", 0, 'U'},
    {"costa", 0, 'U'},	  {"giordano", 0, 'U'}, {"rizzo", 0, 'U'},
    {"lombardi", 0, 'U'}, {"moretti", 0, 'U'},	{"d'angelo", 0, 'U'},
    {"fontana", 0, 'U'},
};

static const struct dg_name es_given[] = {
    {"josé", 0, 'M'},	   {"maría", 0, 'F'},	 {"antonio", 0, 'M'},
    {"carmen", 0, 'F'},	   {"manuel", 0, 'M'},	 {"josefa", 0, 'F'},
    {"francisco", 0, 'M'}, {"isabel", 0, 'F'},	 {"juan", 0, 'M'},
    {"dolores", 0, 'F'},   {"david", 0, 'M'},	 {"laura", 0, 'F'},
    {"javier", 0, 'M'},	   {"cristina", 0, 'F'}, {"jesús", 0, 'M'},
    {"guadalupe", 0, 'F'}, {"ignacio", 0, 'M'},	 {"lucía", 0, 'F'},
    {"sergio", 0, 'M'},	   {"marta", 0, 'F'},	 {"alejandro", 0, 'M'},
    {"inés", 0, 'F'},
};
static const struct dg_name es_family[] = {
    {"garcía", 0, 'U'},	      {"rodríguez", 0, 'U'}, {"gonzález", 0, 'U'},
    {"fernández", 0, 'U'},    {"lópez", 0, 'U'},     {"martínez", 0, 'U'},
    {"sánchez", 0, 'U'},      {"pérez", 0, 'U'},     {"gómez", 0, 'U'},
    {"martín", 0, 'U'},	      {"jiménez", 0, 'U'},   {"ruiz", 0, 'U'},
    {"hernández", 0, 'U'},    {"díaz", 0, 'U'},	     {"moreno", 0, 'U'},
    {"muñoz", 0, 'U'},	      {"álvarez", 0, 'U'},   {"romero", 0, 'U'},
    {"navarro", 0, 'U'},      {"torres", 0, 'U'},    {"ibáñez", 0, 'U'},
    {"de la fuente", 0, 'U'},
};

/* Russian family names are stored in the masculine form; the generator
 * appends "a"/"а" for women. */
static const struct dg_name ru_given[] = {
    {"aleksandr", "Александр", 'M'}, {"elena", "Елена", 'F'},
    {"sergey", "Сергей", 'M'},	     {"olga", "Ольга", 'F'},
    {"dmitry", "Дмитрий", 'M'},	     {"tatiana", "Татьяна", 'F'},
    {"andrey", "Андрей", 'M'},	     {"natalia", "Наталья", 'F'},
    {"alexey", "Алексей", 'M'},	     {"irina", "Ирина", 'F'},
    {"ivan", "Иван", 'M'},	     {"anna", "Анна", 'F'},
    {"mikhail", "Михаил", 'M'},	     {"ekaterina", "Екатерина", 'F'},
    {"vladimir", "Владимир", 'M'},   {"anastasia", "Анастасия", 'F'},
    {"nikolay", "Николай", 'M'},     {"svetlana", "Светлана", 'F'},
    {"pavel", "Павел", 'M'},	     {"maria", "Мария", 'F'},
    {"yuri", "Юрий", 'M'},	     {"yulia", "Юлия", 'F'},
};
static const struct dg_name ru_family[] = {
    {"ivanov", "Иванов", 'U'},	    {"smirnov", "Смирнов", 'U'},
    {"kuznetsov", "Кузнецов", 'U'}, {"popov", "Попов", 'U'},
    {"vasiliev", "Васильев", 'U'},  {"petrov", "Петров", 'U'},
    {"sokolov", "Соколов", 'U'},    {"mikhailov", "Михайлов", 'U'},
    {"novikov", "Новиков", 'U'},    {"fedorov", "Федоров", 'U'},
    {"morozov", "Морозов", 'U'},    {"volkov", "Волков", 'U'},
    {"alekseev", "Алексеев", 'U'},  {"lebedev", "Лебедев", 'U'},
    {"semenov", "Семенов", 'U'},    {"egorov", "Егоров", 'U'},
    {"pavlov", "Павлов", 'U'},	    {"kozlov", "Козлов", 'U'},
    {"stepanov", "Степанов", 'U'},  {"nikolaev", "Николаев", 'U'},
    {"orlov", "Орлов", 'U'},	    {"putilin", "Путилин", 'U'},
};

static const struct dg_name cn_given[] = {
    {"wei", "伟", 'M'},	    {"fang", "芳", 'F'},      {"min", "敏", 'F'},
    {"jing", "静", 'F'},    {"qiang", "强", 'M'},     {"lei", "磊", 'M'},
    {"jun", "军", 'M'},	    {"yan", "艳", 'F'},	      {"yong", "勇", 'M'},
    {"jie", "杰", 'M'},	    {"xiuying", "秀英", 'F'}, {"tao", "涛", 'M'},
    {"ming", "明", 'M'},    {"li", "丽", 'F'},	      {"chao", "超", 'M'},
    {"hui", "慧", 'F'},	    {"haoran", "浩然", 'M'},  {"ting", "婷", 'F'},
    {"zihan", "子涵", 'F'}, {"yutong", "雨桐", 'F'},  {"jian", "建", 'M'},
    {"xin", "欣", 'F'},	    {"hao", "浩", 'M'},
};
static const struct dg_name cn_family[] = {
    {"wang", "王", 'U'},  {"li", "李", 'U'},   {"zhang", "张", 'U'},
    {"liu", "刘", 'U'},	  {"chen", "陈", 'U'}, {"yang", "杨", 'U'},
    {"huang", "黄", 'U'}, {"zhao", "赵", 'U'}, {"wu", "吴", 'U'},
    {"zhou", "周", 'U'},  {"xu", "徐", 'U'},   {"sun", "孙", 'U'},
    {"ma", "马", 'U'},	  {"zhu", "朱", 'U'},  {"hu", "胡", 'U'},
    {"guo", "郭", 'U'},	  {"he", "何", 'U'},   {"lin", "林", 'U'},
    {"gao", "高", 'U'},	  {"luo", "罗", 'U'},  {"zheng", "郑", 'U'},
    {"liang", "梁", 'U'},
};

static const struct dg_name kr_given[] = {
    {"minjun", "민준", 'M'},   {"seoyeon", "서연", 'F'},
    {"seojun", "서준", 'M'},   {"jiwoo", "지우", 'F'},
    {"doyun", "도윤", 'M'},    {"seoyun", "서윤", 'F'},
    {"jiho", "지호", 'M'},     {"minseo", "민서", 'F'},
    {"jihoon", "지훈", 'M'},   {"hayoon", "하윤", 'F'},
    {"hyunwoo", "현우", 'M'},  {"jiyeon", "지연", 'F'},
    {"junho", "준호", 'M'},    {"soyeon", "소연", 'F'},
    {"sungmin", "성민", 'M'},  {"eunji", "은지", 'F'},
    {"youngho", "영호", 'M'},  {"yuna", "유나", 'F'},
    {"donghyun", "동현", 'M'}, {"hyejin", "혜진", 'F'},
    {"jaewon", "재원", 'M'},   {"sujin", "수진", 'F'},
};
static const struct dg_name kr_family[] = {
    {"kim", "김", 'U'},	  {"lee", "이", 'U'},  {"park", "박", 'U'},
    {"choi", "최", 'U'},  {"jung", "정", 'U'}, {"kang", "강", 'U'},
    {"cho", "조", 'U'},	  {"yoon", "윤", 'U'}, {"jang", "장", 'U'},
    {"lim", "임", 'U'},	  {"han", "한", 'U'},  {"oh", "오", 'U'},
    {"seo", "서", 'U'},	  {"shin", "신", 'U'}, {"kwon", "권", 'U'},
    {"hwang", "황", 'U'}, {"ahn", "안", 'U'},  {"song", "송", 'U'},
    {"yoo", "유", 'U'},	  {"hong", "홍", 'U'}, {"jeon", "전", 'U'},
    {"baek", "백", 'U'},
};

static const struct dg_name jp_given[] = {
    {"hiroshi", 0, 'M'}, {"yuki", 0, 'F'},   {"takeshi", 0, 'M'},
    {"akiko", 0, 'F'},	 {"kenji", 0, 'M'},  {"yui", 0, 'F'},
    {"haruto", 0, 'M'},	 {"sakura", 0, 'F'}, {"sota", 0, 'M'},
    {"aoi", 0, 'F'},	 {"daiki", 0, 'M'},  {"hana", 0, 'F'},
    {"kazuki", 0, 'M'},	 {"emi", 0, 'F'},    {"ryota", 0, 'M'},
    {"keiko", 0, 'F'},	 {"shota", 0, 'M'},  {"naomi", 0, 'F'},
    {"takumi", 0, 'M'},	 {"mei", 0, 'F'},
};
static const struct dg_name jp_family[] = {
    {"sato", 0, 'U'},	  {"suzuki", 0, 'U'},	 {"takahashi", 0, 'U'},
    {"tanaka", 0, 'U'},	  {"watanabe", 0, 'U'},	 {"ito", 0, 'U'},
    {"yamamoto", 0, 'U'}, {"nakamura", 0, 'U'},	 {"kobayashi", 0, 'U'},
    {"kato", 0, 'U'},	  {"yoshida", 0, 'U'},	 {"yamada", 0, 'U'},
    {"sasaki", 0, 'U'},	  {"yamaguchi", 0, 'U'}, {"matsumoto", 0, 'U'},
    {"inoue", 0, 'U'},	  {"kimura", 0, 'U'},	 {"hayashi", 0, 'U'},
    {"shimizu", 0, 'U'},  {"mori", 0, 'U'},
};

#define CULTURE(code, p)                                                       \
	{                                                                      \
		code, p##_given, N(p##_given), p##_family, N(p##_family)       \
	}
const struct dg_culture dg_cultures[DG_N_CULTURES] = {
    [DG_FR] = CULTURE("fr", fr), [DG_EN] = CULTURE("en", en),
    [DG_DE] = CULTURE("de", de), [DG_IT] = CULTURE("it", it),
    [DG_ES] = CULTURE("es", es), [DG_RU] = CULTURE("ru", ru),
    [DG_CN] = CULTURE("cn", cn), [DG_KR] = CULTURE("kr", kr),
    [DG_JP] = CULTURE("jp", jp),
};

const struct dg_nickname dg_nicknames[] = {
    {"robert", "bob"},	      {"robert", "rob"},	{"william", "bill"},
    {"william", "will"},      {"elizabeth", "liz"},	{"elizabeth", "beth"},
    {"margaret", "maggie"},   {"margaret", "peggy"},	{"james", "jim"},
    {"james", "jimmy"},	      {"john", "jack"},		{"john", "johnny"},
    {"richard", "dick"},      {"richard", "rick"},	{"thomas", "tom"},
    {"michael", "mike"},      {"katherine", "kate"},	{"katherine", "kathy"},
    {"christopher", "chris"}, {"daniel", "dan"},	{"matthew", "matt"},
    {"edward", "ted"},	      {"edward", "ed"},		{"jennifer", "jen"},
    {"patricia", "pat"},      {"rebecca", "becky"},	{"samantha", "sam"},
    {"david", "dave"},	      {"mary", "molly"},	{"jessica", "jess"},
    {"christophe", "chris"},  {"frédéric", "fred"},	{"philippe", "phil"},
    {"nicolas", "nico"},      {"dominique", "dom"},	{"guillaume", "guigui"},
    {"jean-pierre", "jp"},    {"catherine", "cathy"},	{"isabelle", "isa"},
    {"johann", "hans"},	      {"friedrich", "fritz"},	{"margarete", "grete"},
    {"maximilian", "max"},    {"katharina", "katja"},	{"andreas", "andi"},
    {"giuseppe", "beppe"},    {"giuseppe", "peppe"},	{"giovanni", "gianni"},
    {"francesco", "franco"},  {"alessandro", "sandro"}, {"francisco", "paco"},
    {"josé", "pepe"},	      {"ignacio", "nacho"},	{"dolores", "lola"},
    {"guadalupe", "lupe"},    {"jesús", "chucho"},	{"aleksandr", "sasha"},
    {"ivan", "vanya"},	      {"dmitry", "dima"},	{"mikhail", "misha"},
    {"ekaterina", "katya"},   {"anastasia", "nastya"},	{"natalia", "natasha"},
    {"vladimir", "volodya"},  {"alexey", "alyosha"},	{"elena", "lena"},
    {"tatiana", "tanya"},     {"svetlana", "sveta"},	{"yulia", "yulya"},
};
const size_t dg_n_nicknames = N(dg_nicknames);

/* ---- countries ------------------------------------------------------- */

static const struct dg_city fr_cities[] = {
    {"Paris", "75001|75003|75008|75011|75015|75017|75020", "1"},
    {"Lyon", "69001|69003|69006|69007", "4"},
    {"Marseille", "13001|13006|13008", "4"},
    {"Toulouse", "31000|31400|31500", "5"},
    {"Nice", "06000|06100|06200", "4"},
    {"Nantes", "44000|44100|44300", "2"},
    {"Strasbourg", "67000|67100|67200", "3"},
    {"Bordeaux", "33000|33200|33800", "5"},
    {"Lille", "59000|59800", "3"},
    {"Montpellier", "34000|34070", "4"},
    {"Saint-Étienne", "42000|42100", "4"},
};
static const char *const fr_streets[] = {
    "rue de la Paix",	    "avenue Victor Hugo", "boulevard Haussmann",
    "rue de la République", "avenue Jean Jaurès", "rue Pasteur",
    "rue Nationale",	    "place de la Mairie", "rue du Moulin",
    "allée des Tilleuls",   "chemin des Vignes",  "rue Saint-Honoré",
    "boulevard Voltaire",   "impasse des Lilas",  "avenue de la Gare",
};
static const char *const fr_mobile[] = {"6", "7"};
static const char *const fr_domains[] = {
    "gmail.com", "orange.fr",	"free.fr",    "hotmail.fr", "yahoo.fr",
    "sfr.fr",	 "laposte.net", "outlook.fr", "wanadoo.fr", "icloud.com",
};

static const struct dg_city gb_cities[] = {
    {"London", "SW1A 1AA|E1 6AN|N1 9GU|W2 1HB|SE1 7PB|NW3 2QG|EC1A 1BB", "20"},
    {"Manchester", "M1 1AE|M14 5RL|M20 2RN", "161"},
    {"Birmingham", "B1 1BB|B15 2TT|B29 6BD", "121"},
    {"Leeds", "LS1 4DY|LS6 3HN", "113"},
    {"Glasgow", "G1 1XQ|G12 8QQ", "141"},
    {"Edinburgh", "EH1 1YZ|EH8 9YL", "131"},
    {"Bristol", "BS1 4DJ|BS8 1TH", "117"},
    {"Liverpool", "L1 8JQ|L17 6BD", "151"},
};
static const char *const gb_streets[] = {
    "High Street",   "Station Road", "Church Lane", "Baker Street",
    "Victoria Road", "King's Road",  "Park Avenue", "Mill Lane",
    "Green Lane",    "Queen Street", "London Road", "Manor Road",
};
static const char *const gb_mobile[] = {"7700", "7911", "7812",
					"7412", "7540", "7977"};
static const char *const gb_domains[] = {
    "gmail.com",      "hotmail.co.uk", "yahoo.co.uk", "outlook.com",
    "btinternet.com", "sky.com",       "icloud.com",  "live.co.uk",
};

static const struct dg_city de_cities[] = {
    {"Berlin", "10115|10178|10437|12043", "30"},
    {"Hamburg", "20095|22767|22301", "40"},
    {"München", "80331|80802|81541", "89"},
    {"Köln", "50667|50937", "221"},
    {"Frankfurt am Main", "60311|60594", "69"},
    {"Stuttgart", "70173|70597", "711"},
    {"Düsseldorf", "40210|40477", "211"},
    {"Leipzig", "04109|04277", "341"},
};
static const char *const de_streets[] = {
    "Hauptstraße",     "Bahnhofstraße", "Schillerstraße",  "Goethestraße",
    "Lindenallee",     "Gartenweg",	"Friedrichstraße", "Kirchplatz",
    "Berliner Straße", "Am Markt",	"Mozartstraße",	   "Ringstraße",
};
static const char *const de_mobile[] = {"151", "152", "160", "162",
					"170", "171", "176"};
static const char *const de_domains[] = {
    "gmail.com", "web.de",   "gmx.de",	   "t-online.de",
    "gmx.net",	 "yahoo.de", "outlook.de",
};

static const struct dg_city it_cities[] = {
    {"Roma", "00184|00187|00199", "06"}, {"Milano", "20121|20144|20159", "02"},
    {"Napoli", "80121|80138", "081"},	 {"Torino", "10121|10138", "011"},
    {"Firenze", "50122|50129", "055"},	 {"Bologna", "40121|40137", "051"},
    {"Palermo", "90133|90141", "091"},
};
static const char *const it_streets[] = {
    "Via Roma",		"Via Garibaldi", "Corso Vittorio Emanuele II",
    "Piazza del Duomo", "Via Dante",	 "Via Mazzini",
    "Viale dei Mille",	"Via Verdi",	 "Via Cavour",
    "Corso Italia",
};
static const char *const it_mobile[] = {"333", "347", "320", "339", "348"};
static const char *const it_domains[] = {
    "gmail.com",   "libero.it",	 "hotmail.it", "yahoo.it",
    "virgilio.it", "tiscali.it", "alice.it",
};

static const struct dg_city es_cities[] = {
    {"Madrid", "28001|28013|28045", "91"},
    {"Barcelona", "08001|08013|08036", "93"},
    {"Valencia", "46001|46021", "96"},
    {"Sevilla", "41001|41010", "95"},
    {"Bilbao", "48001|48013", "94"},
    {"Málaga", "29001|29016", "95"},
};
static const char *const es_streets[] = {
    "Calle Mayor",     "Avenida de la Constitución",
    "Calle Real",      "Plaza de España",
    "Gran Vía",	       "Paseo de Gracia",
    "Calle de Alcalá", "Avenida de América",
    "Calle Nueva",
};
static const char *const es_mobile[] = {"612", "619", "655",
					"666", "699", "722"};
static const char *const es_domains[] = {
    "gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net",
};

static const struct dg_city us_cities[] = {
    {"New York", "10001|10011|10027|10128", "212"},
    {"Los Angeles", "90012|90026|90046", "213"},
    {"Chicago", "60601|60614|60657", "312"},
    {"San Francisco", "94103|94110|94117", "415"},
    {"Boston", "02108|02116|02134", "617"},
    {"Seattle", "98101|98103|98122", "206"},
    {"Houston", "77002|77006", "713"},
};
static const char *const us_streets[] = {
    "Main Street",	    "Oak Avenue", "Maple Drive", "Park Avenue",
    "Washington Boulevard", "Elm Street", "5th Avenue",	 "Sunset Boulevard",
    "Lake Shore Drive",	    "Cedar Lane", "Pine Street", "Broadway",
};
static const char *const us_mobile[] = {"917", "646", "310",
					"415", "773", "206"};
static const char *const us_domains[] = {
    "gmail.com",   "yahoo.com",	 "hotmail.com", "aol.com",
    "outlook.com", "icloud.com", "comcast.net",
};

static const struct dg_city cn_cities[] = {
    {"Beijing", "100020|100080|100101", "10"},
    {"Shanghai", "200001|200040|200120", "21"},
    {"Guangzhou", "510030|510620", "20"},
    {"Chengdu", "610041|610017", "28"},
    {"Wuhan", "430022|430070", "27"},
    {"Nanjing", "210008|210029", "25"},
};
static const char *const cn_streets[] = {
    "Jianguo Road", "Nanjing East Road",   "Zhongshan Road",
    "Renmin Road",  "Huaihai Middle Road", "Chang'an Avenue",
    "Tianhe Road",  "Jiefang Road",
};
static const char *const cn_mobile[] = {"138", "139", "135", "150",
					"186", "188", "177"};
static const char *const cn_domains[] = {
    "qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com",
};

static const struct dg_city kr_cities[] = {
    {"Seoul", "04524|06236|03187|04104", "2"},
    {"Busan", "48058|47285", "51"},
    {"Incheon", "21554|22382", "32"},
    {"Daegu", "41911|42250", "53"},
};
static const char *const kr_streets[] = {
    "Teheran-ro", "Sejong-daero",  "Gangnam-daero", "Olympic-ro",
    "Jong-ro",	  "Hangang-daero", "Haeundae-ro",
};
static const char *const kr_mobile[] = {"10"};
static const char *const kr_domains[] = {
    "naver.com", "daum.net", "gmail.com", "hanmail.net", "kakao.com",
};

static const struct dg_city ru_cities[] = {
    {"Moscow", "101000|119019|125009|129090", "495"},
    {"Saint Petersburg", "190000|191186|197022", "812"},
    {"Novosibirsk", "630007|630099", "383"},
    {"Kazan", "420015|420111", "843"},
    {"Yekaterinburg", "620014|620075", "343"},
};
static const char *const ru_streets[] = {
    "Tverskaya",  "Lenina", "Pushkina", "Gagarina",
    "Sovetskaya", "Mira",   "Arbat",	"Sadovaya",
};
static const char *const ru_mobile[] = {"916", "926", "903",
					"985", "915", "999"};
static const char *const ru_domains[] = {
    "mail.ru", "yandex.ru", "gmail.com", "rambler.ru", "bk.ru", "list.ru",
};

static const struct dg_city jp_cities[] = {
    {"Tokyo", "100-0005|150-0002|160-0022|106-0032", "3"},
    {"Osaka", "530-0001|542-0076", "6"},
    {"Kyoto", "600-8216|604-8005", "75"},
    {"Yokohama", "220-0011|231-0023", "45"},
    {"Sapporo", "060-0001|064-0820", "11"},
};
static const char *const jp_streets[] = {
    "Ginza", "Shibuya",	 "Shinjuku",	"Umeda",
    "Namba", "Roppongi", "Minatomirai", "Kawaramachi",
};
static const char *const jp_mobile[] = {"90", "80", "70"};
static const char *const jp_domains[] = {
    "gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "icloud.com",
};

#define LIST(p) p, N(p)
const struct dg_country dg_countries[] = {
    {"FR",
     DG_FR,
     26,
     "33",
     "0",
     1,
     ' ',
     9,
     9,
     {"", "", "2222"},
     LIST(fr_mobile),
     LIST(fr_cities),
     LIST(fr_streets),
     DG_NUM_STREET,
     LIST(fr_domains)},
    {"GB",
     DG_EN,
     16,
     "44",
     "0",
     1,
     ' ',
     10,
     10,
     {"", "34", "44"},
     LIST(gb_mobile),
     LIST(gb_cities),
     LIST(gb_streets),
     DG_NUM_STREET,
     LIST(gb_domains)},
    {"DE",
     DG_DE,
     10,
     "49",
     "0",
     1,
     ' ',
     11,
     10,
     {"", "", ""},
     LIST(de_mobile),
     LIST(de_cities),
     LIST(de_streets),
     DG_STREET_NUM,
     LIST(de_domains)},
    {"IT",
     DG_IT,
     8,
     "39",
     "",
     1,
     ' ',
     10,
     10,
     {"", "34", ""},
     LIST(it_mobile),
     LIST(it_cities),
     LIST(it_streets),
     DG_STREET_NUM,
     LIST(it_domains)},
    {"ES",
     DG_ES,
     8,
     "34",
     "",
     1,
     ' ',
     9,
     9,
     {"33", "322", ""},
     LIST(es_mobile),
     LIST(es_cities),
     LIST(es_streets),
     DG_STREET_NUM,
     LIST(es_domains)},
    {"US",
     DG_EN,
     10,
     "1",
     "1",
     1,
     '-',
     10,
     10,
     {"", "34", ""},
     LIST(us_mobile),
     LIST(us_cities),
     LIST(us_streets),
     DG_NUM_STREET,
     LIST(us_domains)},
    {"CN",
     DG_CN,
     7,
     "86",
     "0",
     0,
     ' ',
     11,
     10,
     {"", "", "44"},
     LIST(cn_mobile),
     LIST(cn_cities),
     LIST(cn_streets),
     DG_NUM_STREET,
     LIST(cn_domains)},
    {"KR",
     DG_KR,
     5,
     "82",
     "0",
     1,
     '-',
     10,
     9,
     {"", "34", "44"},
     LIST(kr_mobile),
     LIST(kr_cities),
     LIST(kr_streets),
     DG_STREET_NUM,
     LIST(kr_domains)},
    {"RU",
     DG_RU,
     5,
     "7",
     "8",
     1,
     '-',
     10,
     10,
     {"", "322", ""},
     LIST(ru_mobile),
     LIST(ru_cities),
     LIST(ru_streets),
     DG_RU_STREET,
     LIST(ru_domains)},
    {"JP",
     DG_JP,
     5,
     "81",
     "0",
     1,
     '-',
     10,
     9,
     {"", "34", "44"},
     LIST(jp_mobile),
     LIST(jp_cities),
     LIST(jp_streets),
     DG_JP_BLOCKS,
     LIST(jp_domains)},
};
const size_t dg_n_countries = N(dg_countries);

const struct dg_abbrev dg_abbrevs[] = {
    {"FR", "rue ", "r. "},	 {"FR", "avenue ", "av. "},
    {"FR", "boulevard ", "bd "}, {"FR", "place ", "pl. "},
    {"FR", "Saint-", "St-"},	 {"GB", "Street", "St"},
    {"GB", "Road", "Rd"},	 {"GB", "Lane", "Ln"},
    {"GB", "Avenue", "Ave"},	 {"DE", "straße", "str."},
    {"DE", "Straße", "Str."},	 {"IT", "Via ", "V. "},
    {"IT", "Corso ", "C.so "},	 {"IT", "Piazza ", "P.zza "},
    {"ES", "Calle ", "C/ "},	 {"ES", "Avenida ", "Avda. "},
    {"ES", "Plaza ", "Pza. "},	 {"US", "Street", "St."},
    {"US", "Avenue", "Ave"},	 {"US", "Boulevard", "Blvd"},
    {"US", "Drive", "Dr"},	 {"CN", "Road", "Rd"},
    {"RU", "ul. ", "ulitsa "},	 {"GB", "Saint ", "St "},
};
const size_t dg_n_abbrevs = N(dg_abbrevs);

const char *const dg_work_domains[] = {
    "acme-corp.com", "globex.fr", "initech.de", "umbrella.co.uk",
    "hooli.com",     "stark.it",  "wayne.es",	"soylent.com",
};
const size_t dg_n_work_domains = N(dg_work_domains);
